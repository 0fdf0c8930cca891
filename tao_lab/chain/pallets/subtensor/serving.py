"""Serving and identity: ``serve_axon`` / ``serve_prometheus`` publish where a neuron listens;
``set_identity`` names a coldkey.

One devnet difference: loopback addresses (127.0.0.1, ::1) are accepted, because lab neurons all run
on the local machine; subtensor rejects them. Everything else (ip type 4 or 6, port not 0, the
serving rate limit, registration required) is checked as on subtensor.
"""

from __future__ import annotations

from ...pallet import call
from ...scale import U8, U16, U32, U128, Bytes, F
from .types import NET_UID, pays_no

__all__ = ["ServingMixin", "IDENTITY_LIMITS"]

#: per-field byte limits of ChainIdentityV2 (subtensor's ``is_valid_identity``)
IDENTITY_LIMITS = {"name": 256, "url": 256, "github_repo": 256, "image": 1024, "discord": 256, "description": 1024,
                   "additional": 1024}
_IDENTITY_TOTAL = 256 + 256 + 256 + 1024 + 256 + 1024 + 1024  # without github_repo, as subtensor sums


class ServingMixin:
    """Axon / prometheus serving and identities of `SubtensorModule`."""

    def _check_endpoint(self, ctx, netuid: int, previous_block: int, ip: int, port: int, ip_type: int) -> bytes:
        hotkey = ctx.ensure_signed()
        if not self.Uids.contains(ctx.state, netuid, hotkey):
            raise self.error("HotKeyNotRegisteredInNetwork", f"the hotkey is not registered on subnet {netuid}")
        if ip_type not in (4, 6):
            raise self.error("InvalidIpType", "ip_type must be 4 or 6")
        if (ip_type == 4 and ip >= 0xFFFFFFFF) or (ip_type == 6 and ip == (1 << 128) - 1):
            raise self.error("InvalidIpAddress")
        limit = self.ServingRateLimit.get(ctx.state, netuid)
        if limit and previous_block and ctx.block_number - previous_block < limit:
            raise self.error("ServingRateLimitExceeded", f"serve at most once every {limit} blocks")
        if port == 0:
            raise self.error("InvalidPort")
        return hotkey

    @pays_no
    @call(4, NET_UID("netuid"), F("version", U32, "u32"), F("ip", U128, "u128"), F("port", U16, "u16"),
          F("ip_type", U8, "u8"), F("protocol", U8, "u8"), F("placeholder1", U8, "u8"), F("placeholder2", U8, "u8"))
    def serve_axon(self, ctx, netuid, version, ip, port, ip_type, protocol, placeholder1, placeholder2):
        """Publish the caller hotkey's axon endpoint (ip as an integer, ip_type 4 or 6) on a subnet."""
        hotkey = ctx.origin
        previous = self.Axons.get(ctx.state, netuid, hotkey) if hotkey else None
        hotkey = self._check_endpoint(ctx, netuid, previous["block"] if previous else 0, ip, port, ip_type)
        self.Axons.set(ctx.state, netuid, hotkey, {
            "block": ctx.block_number, "version": version, "ip": ip, "port": port, "ip_type": ip_type,
            "protocol": protocol, "placeholder1": placeholder1, "placeholder2": placeholder2,
        })
        ctx.event(self.name, "AxonServed", (netuid, hotkey))

    @pays_no
    @call(5, NET_UID("netuid"), F("version", U32, "u32"), F("ip", U128, "u128"), F("port", U16, "u16"),
          F("ip_type", U8, "u8"))
    def serve_prometheus(self, ctx, netuid, version, ip, port, ip_type):
        """Publish the caller hotkey's prometheus endpoint on a subnet."""
        hotkey = ctx.origin
        previous = self.Prometheus.get(ctx.state, netuid, hotkey) if hotkey else None
        hotkey = self._check_endpoint(ctx, netuid, previous["block"] if previous else 0, ip, port, ip_type)
        self.Prometheus.set(ctx.state, netuid, hotkey, {
            "block": ctx.block_number, "version": version, "ip": ip, "port": port, "ip_type": ip_type,
        })
        ctx.event(self.name, "PrometheusServed", (netuid, hotkey))

    @call(68, F("name", Bytes, "Vec<u8>"), F("url", Bytes, "Vec<u8>"), F("github_repo", Bytes, "Vec<u8>"),
          F("image", Bytes, "Vec<u8>"), F("discord", Bytes, "Vec<u8>"), F("description", Bytes, "Vec<u8>"),
          F("additional", Bytes, "Vec<u8>"))
    def set_identity(self, ctx, **fields):
        """Set the caller coldkey's identity; one of its hotkeys must be registered on some subnet."""
        coldkey = ctx.ensure_signed()
        state = ctx.state
        hotkeys = self.OwnedHotkeys.get(state, coldkey)
        if not any(member for hk in hotkeys for _, member in self.IsNetworkMember.items(state, hk)):
            raise self.error("HotKeyNotRegisteredInNetwork", "none of the coldkey's hotkeys is registered")
        identity = {k: bytes(fields[k]) for k in IDENTITY_LIMITS}
        total = sum(len(v) for k, v in identity.items() if k != "github_repo")
        if total > _IDENTITY_TOTAL or any(len(identity[k]) > n for k, n in IDENTITY_LIMITS.items()):
            raise self.error("InvalidIdentity", f"field limits (bytes): {IDENTITY_LIMITS}")
        self.IdentitiesV2.set(state, coldkey, identity)
        ctx.event(self.name, "ChainIdentitySet", coldkey)
