import sys

from demo.synth_summary import main

sys.exit(main())
