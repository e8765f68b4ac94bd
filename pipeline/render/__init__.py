"""Rendering: plays arranged note data with real drum samples and modelled guitars/bass into audio."""
