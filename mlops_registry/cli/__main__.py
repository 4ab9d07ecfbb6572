import sys

from mlops_registry.cli.main import main

sys.exit(main())
