"""Policy tests: keep torch to one thread (the machine's cores are shared) and make the local
helpers (``policy_helpers``) importable under any import mode."""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
torch.set_num_threads(1)
