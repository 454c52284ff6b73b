"""Provider simulators: real HTTP servers on 127.0.0.1 speaking each provider's wire protocol,
for the demo (``manage.py demo`` / ``simulate``) and the tests. Not part of the adapters: nothing
under ``providers/`` but this package imports it (an import contract in ``.importlinter``)."""
