"""``notebooks/sweep.ipynb``: one parameterised run of a scenario, the unit a sweep repeats over a grid."""

CELLS = [
    ("md", """# Sweep: one run of a grid

This notebook is one point of a parameter sweep. Its `parameters` cell holds the knobs; `tao-lab
sweep` runs it once per point of a grid with [papermill](https://papermill.readthedocs.io), in
parallel worker processes, and collects every run's results into one table and one figure:

```bash
tao-lab sweep notebooks/sweep.ipynb --grid kappa=0.3,0.5,0.7 --grid copiers=0,1 --grid seed=0,1 \\
    --workers 2 --out sweeps/kappa-copiers
```

`sweeps/kappa-copiers/` then holds `results.csv` (one row per run and uid, with the run's
parameters as columns), `runs.csv` (one row per run: ok or its error, seconds), `sweep.html` (the
figure) and, for each run, its executed notebook `run-NNN.ipynb`, its `run-NNN.csv` and its report
`run-NNN.html`. A failed run is listed with its error; the others go on. Add
`--scheduler tcp://host:8786` to send the runs to a Dask cluster instead of local processes.

Run on its own, it is an ordinary notebook: one scenario (a copier against honest miners, see
`06_attack_lab`) at the parameters below."""),
    ("code", """# Parameters (papermill and `tao-lab sweep --grid NAME=...` override them)
kappa = 0.5            # the consensus majority, as a fraction (the chain stores it as u16)
copiers = 1            # miners relaying honest0's answers
guard = False          # the copy guard of the validators (Validator(dedupe=True))
seed = 0
epochs = 6
results_path = "sweep_result.csv"   # the runner sets these two for every run
report_path = None""", ["parameters"]),
    ("code", """from tao_lab.scenarios import build_scenario, library

scenario = library("copier", copiers=copiers, guard=guard, epochs=epochs, seed=seed, kappa=round(kappa * 65535))
result = scenario.run(report=report_path)      # a fresh devnet, closed afterwards
result.table.to_csv(results_path, index=False)  # the row per uid the sweep collects
result.table[["name", "behaviour", "uid", "I", "D", "emission", "miner_share"]].round(4)"""),
    ("code", """build_scenario(result.table, title=f"kappa {kappa}, {copiers} copier(s), guard {guard}, seed {seed}")"""),
]
