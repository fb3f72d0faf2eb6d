"""`python -m jobs ...`: the batch CLI (see jobs/cli.py or `python -m jobs --help`)."""

import sys

from jobs.cli import main

sys.exit(main())
