import sys

from registry_cli.main import main

sys.exit(main())
