"""What the apps share and depend on nothing of theirs: the domain error, signed webhooks (STYLE.md, "Layers")."""
