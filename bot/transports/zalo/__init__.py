"""Zalo: the Bot Platform (`zalo`) and an Official Account (`zalo_oa`), over thin httpx clients."""
