"""SCL-aware analysis (IEC 61850-6 substation configuration files).

* :func:`load_scl` (``loader``): a hardened streaming loader -> :class:`SclModel`;
* :mod:`.model`: the frozen records (IED, AccessPoint, LDevice, LN, DataSet/FCDA,
  ReportControl, GSEControl, SampledValueControl, DataTypeTemplates, Communication);
* :class:`SclModel` (``resolver``): look-ups other analyses call -- see its module
  docstring for the resolver API (``members``, ``name_goose_member``,
  ``fcda_for_report``, ``enum_name``, ``ied_for_ip``, ``ctl_model``, ``value``...);
* :mod:`.check`: checks of the file on its own (``mmsanalyze scl FILE``);
* :mod:`.compare`: configured versus observed (``mmsanalyze scl-check``);
* :mod:`.annotate`: SCL names on the GOOSE / SV / report tables;
* :mod:`.hooks`: inputs for other analyses (``security_inputs`` for ``security --scl``).
"""

from .loader import SclError, load_scl
from .resolver import ControlBlock, Member, SclModel
from .hooks import ctl_models, security_inputs

__all__ = ["load_scl", "SclError", "SclModel", "Member", "ControlBlock", "security_inputs", "ctl_models"]
