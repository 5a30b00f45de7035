import sys

from phoihop.cli import main

sys.exit(main())
