"""Write an unencrypted wallet for a dev key: python make_wallet.py PATH NAME COLD_URI HOT_URI (prints the coldkey)."""

import sys

from bittensor_wallet import Keypair, Wallet

path, name, cold_uri, hot_uri = sys.argv[1:5]
wallet = Wallet(name=name, hotkey="default", path=path)
wallet.set_coldkey(Keypair.create_from_uri(cold_uri), encrypt=False, overwrite=True)
wallet.set_coldkeypub(Keypair.create_from_uri(cold_uri), overwrite=True)
wallet.set_hotkey(Keypair.create_from_uri(hot_uri), encrypt=False, overwrite=True)
print(wallet.coldkeypub.ss58_address)
