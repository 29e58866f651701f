"""The clinical engine: pure typed Python, no Django import (see architecture.md)."""
