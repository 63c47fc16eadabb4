import sys
from pathlib import Path

# tests/seed_procedure.py is imported by several test modules.
sys.path.insert(0, str(Path(__file__).parent))
