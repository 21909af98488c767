"""Generated control-plane code; run `make proto`."""
