"""``python -m genesys_tls`` runs the CLI."""

import sys

from .cli import main, stop_on_sigterm

stop_on_sigterm()
sys.exit(main())
