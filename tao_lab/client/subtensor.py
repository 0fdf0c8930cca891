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
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import InputError
from ._writing import Writing, _keypair
from .errors import ChainConnectionError, Receipt

__all__ = ["Subtensor", "weights_to_u16"]

ST = "SubtensorModule"
TAO = 10**9
URL_SCHEMES = ("ws", "wss", "http", "https")
ADVANCE_CHUNK = 10_000  # blocks per dev_newBlock request (tao_lab.node.service.MAX_NEW_BLOCKS)

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


class Subtensor(Writing):
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
                    url=url, ws_options={"timeout": timeout, "skip_utf8_validation": True}, auto_reconnect=True,
                    cache_region=_metadata_cache(url))
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



# scalecodec builds its type classes at run time and walks the class tree while loading a type
# registry; two threads doing that at once (neurons in thread mode connecting together) lost core
# types ("Decoder class for Compact<u32> not found"). Runtime set-up is rare and fast once cached:
# one at a time per process.
_RUNTIME_LOCK = threading.RLock()


class _MetadataCache:
    """Decoded runtime metadata by spec version, shared by every connection of this process to one URL.

    substrate-interface decodes the node's metadata in pure Python on each new connection (1-2 s for
    subtensor's); a lab opens one connection per neuron, per miner's caller list and per widget.
    It takes a dogpile.cache-like region (``get``/``set``) for exactly this. Per URL, because two
    chains could share a spec version with different metadata (a local build of subtensor).
    """

    def __init__(self) -> None:
        self._by_key: dict = {}

    def get(self, key):
        return self._by_key.get(key)

    def set(self, key, value) -> None:
        self._by_key[key] = value


#: the URLs whose metadata is kept, most recently connected last (a decoded metadata is about 20 MB)
_METADATA: OrderedDict[str, _MetadataCache] = OrderedDict()
METADATA_URLS = 4


def _metadata_cache(url: str) -> _MetadataCache:
    key = url.split("?")[0]  # a devnet's token does not change its runtime
    with _RUNTIME_LOCK:
        cache = _METADATA.pop(key, None) or _MetadataCache()
        _METADATA[key] = cache
        while len(_METADATA) > METADATA_URLS:
            _METADATA.popitem(last=False)
        return cache


def _serialised(init_runtime):
    def locked(*args, **kwargs):
        with _RUNTIME_LOCK:
            return init_runtime(*args, **kwargs)

    return locked


def _is_connection_error(exc: BaseException) -> bool:
    # websocket-client's exceptions are not OSErrors; match them by module.
    return isinstance(exc, (OSError, ConnectionError, TimeoutError)) or type(exc).__module__.startswith("websocket")
