"""`python -m kycengine` is the `kyc` command."""

import sys

from .cli import main

sys.exit(main())
