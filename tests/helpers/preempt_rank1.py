"""torchrun entry point for tests: ``dnactx`` with SIGTERM delivered to rank 1 alone at optimiser step 3.

The hard case of preemption under DDP: one rank is signalled, the other is not (yet).
"""

import os
import signal
import sys

from dnactx.cli import main
from dnactx.distributed import rank
from dnactx.train import loop

if rank() == 1:
    loop.STEP_HOOKS.append(lambda step: step == 3 and os.kill(os.getpid(), signal.SIGTERM))
main(sys.argv[1:])  # leaves through distributed.exit_process
