"""`Subtensor`: the chain in Bittensor's vocabulary, on top of substrate-interface.

One class for the embedded devnet and for a subtensor node at any URL: it composes, signs and
submits the calls, waits for inclusion, and turns the outcome into a `Receipt` or a typed error.
It is synchronous and uses no event loop of its own (substrate-interface talks over a blocking
WebSocket), so it is safe inside a running Jupyter kernel.

Amounts are rao (1 TAO = 1e9 rao) unless a name says TAO. Signers are a `Wallet` (coldkey or
hotkey as the call needs) or a substrate-interface ``Keypair``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import InputError
from .errors import ChainConnectionError, ChainError, NoBlockProduced, Receipt, TransactionRejected

__all__ = ["Subtensor", "weights_to_u16"]

ST = "SubtensorModule"
TAO = 10**9
#: seconds a write on the devnet waits without any new block before it raises `NoBlockProduced`
#: (longer when the devnet's recent blocks came further apart: see `Subtensor._wait_for_block`)
STALL_S = 3.0
URL_SCHEMES = ("ws", "wss", "http", "https")
ADVANCE_CHUNK = 10_000  # blocks per dev_newBlock request (tao_lab.node.service.MAX_NEW_BLOCKS)
DEV_SUDO = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"  # //Alice: the devnet's sudo key

#: Subnet hyperparameters read by `Subtensor.hyperparameters`: name -> SubtensorModule storage item.
HYPERPARAMETERS = {
    "tempo": "Tempo", "kappa": "Kappa", "immunity_period": "ImmunityPeriod",
    "min_allowed_weights": "MinAllowedWeights", "max_weights_limit": "MaxWeightsLimit",
    "weights_version": "WeightsVersionKey", "weights_rate_limit": "WeightsSetRateLimit",
    "max_allowed_uids": "MaxAllowedUids", "max_allowed_validators": "MaxAllowedValidators",
    "activity_cutoff_factor_milli": "ActivityCutoffFactorMilli", "bonds_moving_avg": "BondsMovingAverage",
    "bonds_penalty": "BondsPenalty", "yuma3_enabled": "Yuma3On", "liquid_alpha_enabled": "LiquidAlphaOn",
    "alpha_values": "AlphaValues", "alpha_sigmoid_steepness": "AlphaSigmoidSteepness",
    "commit_reveal_weights_enabled": "CommitRevealWeightsEnabled", "burn": "Burn", "min_burn": "MinBurn",
    "max_burn": "MaxBurn", "registration_allowed": "NetworkRegistrationAllowed",
}


def weights_to_u16(weights, n: int | None = None) -> tuple[list[int], list[int]]:
    """``(uids, u16 values)`` from weights given as floats.

    Accepts a ``{uid: weight}`` mapping, a ``(uids, weights)`` pair, or a dense vector indexed by
    uid. Weights must be finite and non-negative; they are scaled so the largest becomes 65535,
    rounding half away from zero, which is what the chain stores (it max-upscales again, a no-op).
    """
    if isinstance(weights, Mapping):
        uids, values = list(weights.keys()), list(weights.values())
    elif isinstance(weights, tuple) and len(weights) == 2 and np.ndim(weights[0]) == 1:
        uids, values = list(weights[0]), list(weights[1])
    else:
        values = list(np.asarray(weights, dtype=float).ravel())
        uids = list(range(len(values)))
    uids = [int(u) for u in uids]
    arr = np.asarray(values, dtype=float)
    if len(uids) != len(arr):
        raise InputError("weights", f"{len(uids)} uids but {len(arr)} weights")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise InputError("weights", "weights must be finite and non-negative")
    if len(set(uids)) != len(uids):
        raise InputError("weights", "a uid appears twice")
    if any(u < 0 or (n is not None and u >= n) for u in uids):
        raise InputError("weights", f"uids must lie in [0, {n if n is not None else 'n'})")
    top = arr.max() if arr.size else 0.0
    u16 = np.zeros(len(arr), dtype=np.int64) if top == 0 else np.floor(arr / top * 65535 + 0.5).astype(np.int64)
    return uids, [int(x) for x in u16]


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


def _address(who, which: str = "coldkey", argument: str | None = None) -> str:
    """An SS58 address from a str, a Keypair, or a Wallet (its coldkey, or its hotkey with ``which``).

    ``argument`` names the caller's parameter in errors (default: ``which``).
    """
    argument = argument or which
    if isinstance(who, str):
        return _check_ss58(who, argument)
    wallet_attr = f"{which}_ss58"
    if hasattr(who, wallet_attr):
        return getattr(who, wallet_attr)
    if hasattr(who, "ss58_address"):
        return who.ss58_address
    raise InputError(argument, f"expected an SS58 address, a Keypair or a Wallet, got {type(who).__name__}")


def _check_ss58(address: str, argument: str) -> str:
    from scalecodec.utils.ss58 import is_valid_ss58_address

    try:
        valid = is_valid_ss58_address(address)
    except Exception:  # scalecodec raises NotImplementedError, ValueError, IndexError... for junk
        valid = False
    if not valid:
        raise InputError(argument, f"{address!r} is not an SS58 address (a 48-character '5...' string such as "
                                   "Wallet.dev('//Bob').coldkey_ss58); pass an address, a Keypair or a Wallet")
    return address


def _hotkey_address(hotkey, argument: str = "hotkey") -> str:
    return _address(hotkey, "hotkey", argument)


def _netuid(netuid) -> int:
    """``netuid`` as an int, checked to be a u16 (0..65535) before scalecodec refuses it less clearly."""
    if isinstance(netuid, bool) or not isinstance(netuid, (int, np.integer)) or not 0 <= netuid <= 65535:
        raise InputError("netuid", f"expected a subnet number in 0..65535 (a u16), got {netuid!r}; "
                                   "subtensor.subnets() lists the subnets that exist")
    return int(netuid)


class Subtensor:
    """A connection to a subtensor node or the embedded devnet.

    Args:
        network: a ``ws://``/``wss://``/``http://`` URL, or a started `tao_lab.node.devnet.Devnet`.
        timeout: seconds before a request that gets no answer raises `ChainConnectionError`.
    """

    def __init__(self, network="ws://127.0.0.1:9944", timeout: float = 30.0):
        from substrateinterface import SubstrateInterface

        url = getattr(network, "url", network)
        if not isinstance(url, str) or not url:
            raise InputError("network", f"expected a URL or a started Devnet, got {network!r}")
        scheme = url.partition("://")[0].lower() if "://" in url else ""
        if scheme not in URL_SCHEMES:
            fix = f"did you mean 'ws://{url}'?" if not scheme else "use ws://HOST:PORT (or wss://, http://)"
            raise InputError("network", f"{url!r} is not a ws://, wss:// or http:// URL: {fix}")
        self.url = url
        self.timeout = timeout
        # Keep a Devnet alive as long as its client: `Subtensor(Devnet().start())` must not lose the
        # node to garbage collection (a Devnet stops itself when collected).
        self.devnet = network if not isinstance(network, str) else None
        try:
            # skip_utf8_validation: websocket-client would check every byte in pure Python before the
            # strict UTF-8 decode it does anyway; that doubled-up check was 85% of a metagraph sync.
            with _RUNTIME_LOCK:
                self.substrate = SubstrateInterface(
                    url=url, ws_options={"timeout": timeout, "skip_utf8_validation": True}, auto_reconnect=True)
        except (OSError, ConnectionError) as exc:
            raise ChainConnectionError(f"cannot reach a node at {url}: {exc}") from None
        self.substrate.init_runtime = _serialised(self.substrate.init_runtime)
        self._dev_methods: bool | None = None

    def __repr__(self) -> str:
        return f"Subtensor({self.url})"

    def close(self) -> None:
        self.substrate.close()

    def __enter__(self) -> "Subtensor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ reading

    def _guard(self, fn, *args, **kwargs):
        """Run a request; on a lost connection reconnect once and retry, else raise `ChainConnectionError`.

        Retrying is safe for writes too: a signed extrinsic that did reach the node is refused the
        second time (same nonce), so nothing happens twice.
        """
        for attempt in (0, 1):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                if not _is_connection_error(exc):
                    raise
                if attempt == 0:
                    try:
                        self.substrate.connect_websocket()
                        continue
                    except Exception:  # still down (or not a WebSocket): report below
                        pass
                raise ChainConnectionError(f"{self.url} did not answer: {exc}") from None

    def block(self) -> int:
        """The head block number."""
        return self._guard(lambda: self.substrate.get_block_number(self.substrate.get_chain_head()))

    def block_hash(self, block: int | None = None) -> str:
        """Hex hash of ``block`` (the head when None)."""
        if block is None:
            return self._guard(self.substrate.get_chain_head)
        h = self._guard(self.substrate.get_block_hash, block)
        if h is None:
            raise InputError("block", f"block {block} does not exist yet (head is {self.block()})")
        return h

    def query(self, pallet: str, item: str, params: Sequence = (), block: int | None = None):
        """A storage value as a Python value, at the head or at a past ``block``."""
        at = None if block is None else self.block_hash(block)
        return self._guard(self.substrate.query, pallet, item, list(params), block_hash=at).value

    def query_map(self, pallet: str, item: str, params: Sequence = (), block: int | None = None) -> list[tuple]:
        """Every ``(key, value)`` of a storage map (under the leading ``params`` keys)."""
        at = None if block is None else self.block_hash(block)
        result = self._guard(self.substrate.query_map, pallet, item, list(params), block_hash=at, page_size=1000)
        return [(k.value, v.value) for k, v in result]

    def balance(self, who) -> int:
        """Free balance of an account in rao."""
        return self.query("System", "Account", [_address(who, argument="who")])["data"]["free"]

    def subnets(self) -> list[int]:
        """Netuids of the subnets that exist (root, 0, excluded)."""
        return sorted(k for k, added in self.query_map(ST, "NetworksAdded") if added and k != 0)

    def hyperparameters(self, netuid: int, block: int | None = None) -> dict:
        """A subnet's hyperparameters by their usual names (see `HYPERPARAMETERS`)."""
        netuid = self._require_subnet(netuid)
        return {name: self.query(ST, item, [netuid], block) for name, item in HYPERPARAMETERS.items()}

    def neuron_count(self, netuid: int) -> int:
        """How many uids the subnet has (0 for a subnet that does not exist)."""
        return self.query(ST, "SubnetworkN", [_netuid(netuid)])

    def uid(self, netuid: int, hotkey) -> int | None:
        """The uid of ``hotkey`` on the subnet, or None when it is not registered."""
        return self.query(ST, "Uids", [_netuid(netuid), _hotkey_address(hotkey)])

    def stake(self, hotkey, netuid: int) -> int:
        """Total stake on ``hotkey`` in the subnet, rao (alpha, 1:1 with TAO on the devnet)."""
        return self.query(ST, "TotalHotkeyAlpha", [_hotkey_address(hotkey), _netuid(netuid)])

    def _require_subnet(self, netuid: int) -> int:
        netuid = _netuid(netuid)
        if not self.query(ST, "NetworksAdded", [netuid]):
            raise InputError("netuid", f"subnet {netuid} does not exist (subnets: {self.subnets()}); "
                                       "create one with register_subnet()")
        return netuid

    # ------------------------------------------------------------------ writing

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

    def transfer(self, signer, dest, amount: int, keep_alive: bool = True, password: str | None = None) -> Receipt:
        """Send ``amount`` rao from the signer's coldkey to ``dest``."""
        function = "transfer_keep_alive" if keep_alive else "transfer_allow_death"
        return self.submit(signer, "Balances", function, {"dest": _address(dest, argument="dest"), "value": int(amount)},
                           password=password)

    def register_subnet(self, signer, hotkey=None, password: str | None = None, start: bool = True) -> int:
        """Create a subnet owned by the signer's coldkey; returns its netuid.

        ``hotkey`` (default: the wallet's hotkey) becomes uid 0. With ``start`` (default) the owner's
        ``start_call`` follows, so emission and staking begin at once where the chain allows it.
        """
        hotkey = _hotkey_address(hotkey if hotkey is not None else signer)
        receipt = self.submit(signer, ST, "register_network", {"hotkey": hotkey}, password=password)
        netuid = receipt.event("NetworkAdded", ST)[0]
        if start:
            delay = self.query(ST, "StartCallDelay") or 0
            if delay and self._has_dev_methods():
                self.advance(delay + 1)
            self.submit(signer, ST, "start_call", {"netuid": netuid}, password=password)
        return netuid

    def burned_register(self, signer, netuid: int, hotkey=None, password: str | None = None) -> int:
        """Register ``hotkey`` (default: the wallet's hotkey) on the subnet, paying the burn; returns its uid."""
        netuid = self._require_subnet(netuid)
        hotkey = _hotkey_address(hotkey if hotkey is not None else signer)
        self.submit(signer, ST, "burned_register", {"netuid": netuid, "hotkey": hotkey}, password=password)
        return self.uid(netuid, hotkey)

    def add_stake(self, signer, netuid: int, amount: int, hotkey=None, password: str | None = None) -> Receipt:
        """Stake ``amount`` rao from the signer's coldkey onto ``hotkey`` (default: the wallet's)."""
        netuid = self._require_subnet(netuid)
        hotkey = _hotkey_address(hotkey if hotkey is not None else signer)
        return self.submit(signer, ST, "add_stake", {"hotkey": hotkey, "netuid": netuid, "amount_staked": int(amount)},
                           password=password)

    def remove_stake(self, signer, netuid: int, amount: int, hotkey=None, password: str | None = None) -> Receipt:
        """Unstake ``amount`` rao (alpha) from ``hotkey`` back to the signer's coldkey."""
        netuid = self._require_subnet(netuid)
        hotkey = _hotkey_address(hotkey if hotkey is not None else signer)
        return self.submit(signer, ST, "remove_stake",
                           {"hotkey": hotkey, "netuid": netuid, "amount_unstaked": int(amount)}, password=password)

    def set_weights(self, signer, netuid: int, weights, version_key: int | None = None) -> Receipt:
        """Set the signer hotkey's weights from floats (see `weights_to_u16`)."""
        netuid = self._require_subnet(netuid)
        uids, values = weights_to_u16(weights, self.neuron_count(netuid))
        if version_key is None:
            version_key = self.query(ST, "WeightsVersionKey", [netuid])
        return self.submit(signer, ST, "set_weights",
                           {"netuid": netuid, "dests": uids, "weights": values, "version_key": version_key},
                           which="hotkey")

    def commit_weights(self, signer, netuid: int, weights, salt: Sequence[int], version_key: int | None = None) -> Receipt:
        """Commit to weights without revealing them (commit-reveal v2); keep ``salt`` to reveal."""
        from ..chain.pallets.subtensor.weights import commit_hash

        netuid = self._require_subnet(netuid)
        uids, values = weights_to_u16(weights, self.neuron_count(netuid))
        if version_key is None:
            version_key = self.query(ST, "WeightsVersionKey", [netuid])
        hotkey = _keypair(signer, "hotkey")
        digest = commit_hash(hotkey.public_key, netuid, uids, values, list(salt), version_key)
        return self.submit(signer, ST, "commit_weights", {"netuid": netuid, "commit_hash": "0x" + digest.hex()},
                           which="hotkey")

    def reveal_weights(self, signer, netuid: int, weights, salt: Sequence[int], version_key: int | None = None) -> Receipt:
        """Reveal weights committed with `commit_weights` (same weights, salt and version key)."""
        netuid = self._require_subnet(netuid)
        uids, values = weights_to_u16(weights, self.neuron_count(netuid))
        if version_key is None:
            version_key = self.query(ST, "WeightsVersionKey", [netuid])
        return self.submit(signer, ST, "reveal_weights", {"netuid": netuid, "uids": uids, "values": values,
                                                          "salt": list(salt), "version_key": version_key},
                           which="hotkey")

    def serve_axon(self, signer, netuid: int, ip: str, port: int, protocol: int = 4, version: int = 1) -> Receipt:
        """Publish the signer hotkey's axon address (IPv4 or IPv6) on the subnet."""
        import ipaddress

        netuid = self._require_subnet(netuid)
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            raise InputError("ip", f"{ip!r} is not an IP address") from None
        return self.submit(signer, ST, "serve_axon", {
            "netuid": netuid, "version": version, "ip": int(address), "port": int(port),
            "ip_type": address.version, "protocol": protocol, "placeholder1": 0, "placeholder2": 0,
        }, which="hotkey")

    def set_hyperparameter(self, signer, netuid: int, name: str, value, password: str | None = None) -> Receipt:
        """Set a subnet hyperparameter through ``AdminUtils.sudo_set_<name>``.

        Signed by the sudo key (the devnet's //Alice) the call is wrapped in ``Sudo.sudo``; signed by
        the subnet owner it is sent directly, which subtensor allows for the owner's hyperparameters.
        ``value`` is one value, or a tuple for setters with several (``alpha_values``: (low, high)).
        """
        function = f"sudo_set_{name}"
        try:
            fields = [f["name"] for f in self.substrate.get_metadata_call_function("AdminUtils", function).value["fields"]]
        except (AttributeError, TypeError):
            raise InputError("name", f"AdminUtils has no call {function}; see docs/devnet.md for the setters") from None
        values = list(value) if isinstance(value, (tuple, list)) else [value]
        args = fields[1:] if fields and fields[0] == "netuid" else fields
        if len(values) != len(args):
            raise InputError("value", f"{function} takes {args}, got {values}")
        params = dict(zip(args, values))
        if fields and fields[0] == "netuid":
            params["netuid"] = self._require_subnet(netuid)
        try:  # encode once here, so an out-of-range value is a clear InputError, not scalecodec's
            inner = self.substrate.compose_call("AdminUtils", function, params)
        except (ValueError, TypeError, OverflowError) as exc:
            raise InputError(name, f"{function}{tuple(args)} cannot take {values}: {exc}") from None
        keypair = _keypair(signer, "coldkey", password)
        if self.query("Sudo", "Key") == keypair.ss58_address:
            return self.submit(keypair, "Sudo", "sudo", {"call": inner})
        return self.submit(keypair, "AdminUtils", function, params)

    # ------------------------------------------------------------------ time

    def _has_dev_methods(self) -> bool:
        if self._dev_methods is None:
            methods = self._guard(self.substrate.rpc_request, "rpc_methods", [])["result"]["methods"]
            self._dev_methods = "dev_newBlock" in methods
        return self._dev_methods

    def advance(self, blocks: int = 1) -> int:
        """Produce ``blocks`` blocks now (devnet only); returns the new head number.

        The devnet makes at most 10,000 blocks per request (so that one call cannot hold up other
        clients); more are asked for in several requests."""
        if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 1:
            raise InputError("blocks", f"expected a number of blocks >= 1, got {blocks!r}")
        if not self._has_dev_methods():
            raise InputError("advance", "only the embedded devnet can make blocks on demand; use wait_blocks()")
        for start in range(0, blocks, ADVANCE_CHUNK):
            self._dev_rpc("advance", "dev_newBlock", [min(ADVANCE_CHUNK, blocks - start)])
        return self.block()

    def next_epoch(self, netuid: int) -> int:
        """Produce blocks until the subnet's next epoch has run (devnet only); returns the head number."""
        if not self._has_dev_methods():
            raise InputError("next_epoch", "only the embedded devnet can make blocks on demand; use wait_epoch()")
        self._require_subnet(netuid)
        self._dev_rpc("next_epoch", "dev_nextEpoch", [netuid])
        return self.block()

    def _dev_rpc(self, what: str, method: str, params: list):
        """Call a devnet ``dev_*`` method; a node that wants its token says so as an `InputError`."""
        from substrateinterface.exceptions import SubstrateRequestException

        try:
            return self._guard(self.substrate.rpc_request, method, params)
        except SubstrateRequestException as exc:
            error = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
            if error.get("code") == -32040:  # tao_lab.node.jsonrpc.UNAUTHORIZED
                raise InputError(what, f"the devnet refuses {method} without its token: connect with the URL that "
                                       "carries ?token=... (Devnet.url, or the URL `tao-lab devnet` prints); "
                                       "reading and transactions work without it") from None
            raise

    def wait_blocks(self, blocks: int = 1, timeout: float | None = None, poll: float = 0.05) -> int:
        """Wait until ``blocks`` more blocks exist; returns the head number."""
        target = self.block() + blocks
        deadline = time.monotonic() + (timeout if timeout is not None else max(self.timeout, blocks * 15))
        while (head := self.block()) < target:
            if time.monotonic() > deadline:
                raise ChainConnectionError(f"block {target} did not arrive in time (head {head}); is the chain producing blocks?")
            time.sleep(poll)
        return head

    def wait_epoch(self, netuid: int, timeout: float | None = None, poll: float = 0.05) -> int:
        """Wait until the subnet runs its next epoch; returns the block it ran in."""
        self._require_subnet(netuid)
        last = self.query(ST, "LastMechansimStepBlock", [netuid])
        tempo = self.query(ST, "Tempo", [netuid])
        deadline = time.monotonic() + (timeout if timeout is not None else max(self.timeout, (tempo + 2) * 15))
        while (now := self.query(ST, "LastMechansimStepBlock", [netuid])) == last:
            if time.monotonic() > deadline:
                raise ChainConnectionError(f"subnet {netuid} ran no epoch in time (tempo {tempo} blocks)")
            time.sleep(poll)
        return now


class _StillWaiting(Exception):
    """The watch subscription said nothing for a while (not a connection error: nothing is retried)."""


# scalecodec builds its type classes at run time and walks the class tree while loading a type
# registry; two threads doing that at once (neurons in thread mode connecting together) lost core
# types ("Decoder class for Compact<u32> not found"). Runtime set-up is rare and fast once cached:
# one at a time per process.
_RUNTIME_LOCK = threading.RLock()


def _serialised(init_runtime):
    def locked(*args, **kwargs):
        with _RUNTIME_LOCK:
            return init_runtime(*args, **kwargs)

    return locked


def _is_connection_error(exc: BaseException) -> bool:
    # websocket-client's exceptions are not OSErrors; match them by module.
    return isinstance(exc, (OSError, ConnectionError, TimeoutError)) or type(exc).__module__.startswith("websocket")
