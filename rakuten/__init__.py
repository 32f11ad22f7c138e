__version__ = "0.1.0"

import warnings as _warnings
# fastai still calls torch.jit.script, which recent torch flags as deprecated on every import: not actionable here.
_warnings.filterwarnings('ignore', message=r'.*torch\.jit\.script.*', category=FutureWarning)
