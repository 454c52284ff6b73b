"""Provider adapters: pure Python (no Django). See base.py for the contract."""
