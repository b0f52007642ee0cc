"""Generic composites: extension ops written once against the client's public primitive ops.

Each module here is the definition of an extension op (``boostr/ops/traits``);
a backend's fused kernel must match it. Nothing here touches numpy or moves
data to the host.
"""
