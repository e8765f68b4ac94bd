"""The asset bank's models (Pack, Asset) arrive with their own issue; the app exists so the layout does."""
