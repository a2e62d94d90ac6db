"""Pure tests of the domain and the HTTP tag rules: no store, no app."""
