"""How `tao_lab.client.subtensor.Subtensor` writes: sign, submit, wait for the block, read the receipt.

A mixin, so the class keeps one namespace: ``Subtensor.submit`` and every call built on it. Waiting
watches the node's subscription for `STALL_S` s, then looks for the extrinsic in new blocks itself
(never submitting twice); failures become `TransactionRejected`, `ChainError` (with a hint of who may
sign, for origin errors) or, on a devnet that makes no blocks, `NoBlockProduced`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from ..errors import InputError
from .errors import ChainConnectionError, ChainError, NoBlockProduced, Receipt, TransactionRejected

ST = "SubtensorModule"
#: seconds a write on the devnet waits without any new block before it raises `NoBlockProduced`
#: (longer when the devnet's recent blocks came further apart: see `Writing._wait_for_block`)
STALL_S = 3.0
DEV_SUDO = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"  # //Alice: the devnet's sudo key


def _keypair(signer, which: str, password: str | None = None):
    """The Keypair to sign with: a Keypair as is, or a Wallet's coldkey/hotkey."""
    if hasattr(signer, "sign") and hasattr(signer, "ss58_address"):
        return signer
    if which == "coldkey" and hasattr(signer, "coldkey"):
        key = signer.coldkey(password) if callable(signer.coldkey) else signer.coldkey
        return key
    if which == "hotkey" and hasattr(signer, "hotkey"):
        return signer.hotkey() if callable(signer.hotkey) else signer.hotkey
    raise InputError("signer", f"expected a Wallet or a Keypair, got {type(signer).__name__}")


class _StillWaiting(Exception):
    """The watch subscription said nothing for a while (not a connection error: nothing is retried)."""


class Writing:
    """`Subtensor`'s write path (it provides ``substrate``, ``timeout``, ``url``, ``_guard``, ``query``,
    ``block_hash`` and ``_has_dev_methods``)."""

    def submit(self, signer, pallet: str, function: str, params: Mapping | None = None, *, which: str = "coldkey",
               password: str | None = None) -> Receipt:
        """Sign and submit any call, wait for its block, return its `Receipt`.

        Raises `TransactionRejected` when the node refuses it, `ChainError` when its call fails, and
        `NoBlockProduced` when the chain is an embedded devnet that makes no blocks (manual block mode,
        a paused lab): the transaction then waits in the pool for the next block (`advance`). On
        other chains a transaction not in a block within ``timeout`` s raises `ChainConnectionError`.
        """
        from substrateinterface.exceptions import SubstrateRequestException

        keypair = _keypair(signer, which, password)
        try:
            call = self._guard(self.substrate.compose_call, pallet, function, dict(params or {}))
        except ValueError as exc:
            raise InputError(f"{pallet}.{function}", str(exc)) from None
        extrinsic = self._guard(self.substrate.create_signed_extrinsic, call=call, keypair=keypair)
        try:
            result = self._submit_and_wait(extrinsic)
        except SubstrateRequestException as exc:
            info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
            raise TransactionRejected(info.get("data") or info.get("message") or str(exc), info.get("code")) from None
        receipt = self._receipt(result)
        if not result.is_success:
            err = result.error_message or {}
            docs = err.get("docs", "")
            docs = " ".join(docs) if isinstance(docs, list) else str(docs)
            error_pallet = self._pallet_of(result) if err.get("type") == "Module" else None
            name = err.get("name", "Unknown")
            raise ChainError(error_pallet, name, docs, receipt,
                             self._origin_hint(name, pallet, function, params or {}, keypair))
        sudid = receipt.event("Sudid", "Sudo")
        if sudid is not None:
            self._raise_inner(sudid.get("sudo_result"), receipt, pallet, function, params or {}, keypair)
        return receipt

    def _submit_and_wait(self, extrinsic):
        """Submit ``extrinsic`` and wait for the block that includes it; substrate-interface's receipt.

        substrate-interface waits on the node's watch subscription with the socket's timeout and, when
        that runs out, our reconnect-and-retry would submit again and be told "Transaction Already
        Imported". Instead the subscription is given `STALL_S` s; after that the client looks for
        new blocks itself, and on the devnet a chain that makes none raises `NoBlockProduced`.
        """
        from substrateinterface.base import ExtrinsicReceipt

        if getattr(self.substrate, "websocket", None) is None:  # HTTP: no subscriptions (substrate-interface says so)
            return self._guard(self.substrate.submit_extrinsic, extrinsic, wait_for_inclusion=True)
        devnet = self._has_dev_methods()
        data = str(extrinsic.data)
        ext_hash = "0x" + extrinsic.extrinsic_hash.hex()
        head = self._head_number()
        started = time.monotonic()
        watch: list[str] = []  # the subscription id, to cancel it if we stop listening

        def on_status(message, update_nr, subscription_id):
            watch[:] = [subscription_id]
            status = message.get("params", {}).get("result")
            if isinstance(status, dict):
                status = {k.lower(): v for k, v in status.items()}
                for key in ("inblock", "finalized"):
                    if key in status:
                        # as substrate-interface does: no later status may reach a future watch with the same id
                        self.substrate.rpc_request("author_unwatchExtrinsic", [subscription_id])
                        return status[key]
                status = next(iter(status), None)
            if status in ("dropped", "invalid", "usurped"):
                raise TransactionRejected(f"the node {status} transaction {ext_hash} from its pool")
            return None

        try:
            block_hash = self._guard(self._watch, data, on_status, STALL_S if devnet else self.timeout)
        except _StillWaiting:
            if watch:
                try:
                    self.substrate.rpc_request("author_unwatchExtrinsic", [watch[0]])
                except Exception:  # best effort: a stale subscription only costs a message or two
                    pass
            block_hash = self._wait_for_block(data, ext_hash, head, started, devnet)
        return ExtrinsicReceipt(substrate=self.substrate, extrinsic_hash=ext_hash, block_hash=block_hash)

    def _watch(self, data: str, on_status, seconds: float) -> str:
        from websocket import WebSocketTimeoutException

        websocket = self.substrate.websocket  # read each try: a reconnect replaces it
        websocket.settimeout(seconds)
        try:
            return self.substrate.rpc_request("author_submitAndWatchExtrinsic", [data], result_handler=on_status)
        except WebSocketTimeoutException:
            raise _StillWaiting from None
        finally:
            if self.substrate.websocket is websocket:
                websocket.settimeout(self.timeout)

    def _head_number(self) -> int:
        return int(self._guard(self.substrate.rpc_request, "chain_getHeader", [])["result"]["number"], 16)

    def _wait_for_block(self, data: str, ext_hash: str, head: int, started: float, devnet: bool,
                        poll: float = 0.1) -> str:
        """Look for ``data`` in each new block after ``head``; returns the hash of the block holding it.

        On the devnet, no new block for `STALL_S` s (or three of its recent block intervals, when it
        was making blocks that slowly) raises `NoBlockProduced`; otherwise ``timeout`` s without
        inclusion raise `ChainConnectionError`. The transaction is never submitted twice.
        """
        stall = STALL_S
        if devnet and head > 0:  # a devnet on a slow interval clock: give it three of its intervals
            now, before = (self.query("Timestamp", "Now", block=b) or 0 for b in (head, head - 1))
            age = time.time() - now / 1000
            interval = (now - before) / 1000
            if age < 2 * interval:  # still on that clock (a manual-mode head only gets older)
                stall = max(STALL_S, 3 * interval)
        checked, last_new = head, started
        while True:
            latest = self._head_number()
            for number in range(checked + 1, latest + 1):
                block_hash = self.block_hash(number)
                block = self._guard(self.substrate.rpc_request, "chain_getBlock", [block_hash])["result"]
                if data in block["block"]["extrinsics"]:
                    return block_hash
            now = time.monotonic()
            if latest > checked:
                checked, last_new = latest, now
            if devnet and now - last_new >= stall:
                raise NoBlockProduced(self.url, ext_hash, now - last_new)
            if now - started >= self.timeout:
                raise ChainConnectionError(
                    f"transaction {ext_hash} was not in a block within {self.timeout:g} s (head {latest}); it may "
                    "still land: check before sending it again (is the chain producing blocks?)")
            time.sleep(poll)

    def _origin_hint(self, error: str, pallet: str, function: str, params: Mapping, keypair) -> str:
        """Who may sign ``pallet.function``, for a ``BadOrigin`` (or sudo) refusal; "" otherwise."""
        if error not in ("BadOrigin", "RequireSudo"):
            return ""
        try:
            sudo = self.query("Sudo", "Key")
        except Exception:  # a chain without the Sudo pallet
            sudo = None
        alice = " (//Alice, as on the devnet)" if sudo == DEV_SUDO else ""
        sudo_key = f"the sudo key {sudo}{alice}" if sudo else "root (the sudo key)"
        signer = keypair.ss58_address
        if pallet == "Sudo" or error == "RequireSudo":
            return f"{pallet}.{function} must be signed by {sudo_key}, not {signer}"
        if pallet == "AdminUtils":
            netuid = params.get("netuid")
            owner = None
            if netuid is not None:
                try:
                    owner = self.query(ST, "SubnetOwner", [netuid])
                except Exception:
                    owner = None
            if owner == signer:
                return (f"subtensor lets only root set this one: sign with {sudo_key} "
                        "(set_hyperparameter wraps the call in Sudo.sudo for it)")
            owners = f", or for the hyperparameters owners may set, by subnet {netuid}'s owner {owner}" if owner else ""
            return (f"AdminUtils.{function} must be signed by {sudo_key} (set_hyperparameter wraps the call in "
                    f"Sudo.sudo for it){owners}; not by {signer}")
        return f"{signer} may not sign {pallet}.{function}: the chain requires another origin (often root: {sudo_key})"

    def _receipt(self, result) -> Receipt:
        events = [{"pallet": e.value["module_id"], "name": e.value["event_id"], "attributes": e.value["attributes"]}
                  for e in result.triggered_events]
        number = self.substrate.get_block_number(result.block_hash)
        return Receipt(result.extrinsic_hash, result.block_hash, number, result.is_success,
                       result.total_fee_amount or 0, events)

    def _pallet_of(self, result) -> str | None:
        for e in result.triggered_events:
            if e.value["event_id"] == "ExtrinsicFailed":
                err = e.value["attributes"]["dispatch_error"]
                if isinstance(err, dict) and "Module" in err:
                    index = err["Module"]["index"]
                    return next((p.name for p in self.substrate.metadata.pallets if p.value["index"] == index), None)
        return None

    def _raise_inner(self, result, receipt: Receipt, pallet: str, function: str, params: Mapping, keypair) -> None:
        """A sudo call succeeds even when its inner call fails: raise that failure."""
        if not isinstance(result, dict) or "Err" not in result:
            return
        err = result["Err"]
        if isinstance(err, dict) and "Module" in err:
            index = err["Module"]["index"]
            code = err["Module"]["error"]
            code = bytes.fromhex(code[2:])[0] if isinstance(code, str) else code[0]
            pallet = next((p.name for p in self.substrate.metadata.pallets if p.value["index"] == index), None)
            info = self.substrate.metadata.get_module_error(index, code).value
            raise ChainError(pallet, info["name"], " ".join(info.get("docs", [])), receipt)
        name = err if isinstance(err, str) else next(iter(err))
        raise ChainError(None, name, "", receipt, self._origin_hint(name, pallet, function, params, keypair))
