"""How the prediction memories share an iteration's records across ranks: tensors, not pickled objects.

Every rank's pending entries (``{(stage, image key): {kind: TopKRows}}``) are flattened into four integer
tensors (per entry ``[stage, kind, rows, key bytes]``; the fp16 values' bits; the ids; the UTF-8 keys), their
sizes gathered, then each tensor padded to the largest rank's and all-gathered (int32 and int64 only: gloo
gathers no int16). Five collectives per call, one call per iteration.
"""

from typing import Dict, List, Tuple

import torch
from mmengine.dist import all_gather, get_world_size
from torch import Tensor

from .topk_rows import TopKRows

Pending = Dict[Tuple[int, str], Dict[str, TopKRows]]
KINDS = ('gt', 'proposal')


def gather_pending(pending: Pending, id_dtype: torch.dtype) -> List[Pending]:
    """Every rank's ``pending`` (this rank's included), in rank order; a collective call under DDP.

    Args:
        pending (dict): This rank's entries.
        id_dtype (torch.dtype): The dtype of the entries' class ids (the memory's).
    """
    if get_world_size() == 1:
        return [pending]
    flat = _flatten(pending)
    sizes = all_gather(torch.tensor([t.size(0) for t in flat], dtype=torch.long))
    widest = torch.stack(sizes).amax(0).tolist()
    gathered = [all_gather(_pad(t, n)) for t, n in zip(flat, widest)]
    return [
        _unflatten(*(parts[rank][: sizes[rank][i]] for i, parts in enumerate(gathered)), id_dtype)
        for rank in range(len(sizes))
    ]


def _flatten(pending: Pending) -> List[Tensor]:
    meta, values, ids, keys = [], [], [], []
    width_v = width_i = 0
    for (stage, key), rows_by_kind in pending.items():
        encoded = list(key.encode('utf-8'))
        for kind, rows in rows_by_kind.items():
            meta.append([stage, KINDS.index(kind), rows.values.size(0), len(encoded)])
            values.append(rows.values.view(torch.int16).int())  # fp16 bits, widened: gloo gathers no int16
            ids.append(rows.ids.int())
            keys += encoded
            width_v, width_i = rows.values.size(1), rows.ids.size(1)
    return [
        torch.tensor(meta, dtype=torch.long).reshape(-1, 4),
        torch.cat(values) if values else torch.zeros(0, width_v, dtype=torch.int32),
        torch.cat(ids) if ids else torch.zeros(0, width_i, dtype=torch.int32),
        torch.tensor(keys, dtype=torch.int32),
    ]


def _pad(tensor: Tensor, rows: int) -> Tensor:
    return torch.cat([tensor, tensor.new_zeros((rows - tensor.size(0), *tensor.shape[1:]))])


def _unflatten(meta: Tensor, values: Tensor, ids: Tensor, keys: Tensor, id_dtype: torch.dtype) -> Pending:
    pending: Pending = {}
    row = byte = 0
    key_bytes = bytes(keys.tolist())
    for stage, kind, num_rows, key_len in meta.tolist():
        key = key_bytes[byte : byte + key_len].decode('utf-8')
        pending.setdefault((stage, key), {})[KINDS[kind]] = TopKRows(
            values[row : row + num_rows].short().view(torch.float16), ids[row : row + num_rows].to(id_dtype)
        )
        row, byte = row + num_rows, byte + key_len
    return pending
