"""Frontends: read (and where representable write) the circuit formats people already have.

One module per format: `psdd` (UCLA .psdd + .vtree), `jpc` (ProbabilisticCircuits.jl .jpc),
`pcjl_spn` (PC.jl's .spn dialect), `libra_ac` (Libra .ac, normalized on import),
`libra_spn` (Libra .spn model directories), `spflow_text` (SPFlow's two text forms) and
`spflow_objects` (live SPFlow node graphs, read by duck typing). Every parser raises
`pcc.ir.FormatError` naming `file:line:col` and the offending token for bad input.
"""
