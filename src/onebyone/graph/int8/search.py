"""Which layers run int8: everything first, then the layers that cost most error kept float,
one at a time, until the budget is met (the idea of NNCF's quantize_with_accuracy_control:
rank by measurement, revert the worst first).

Every step is measured inside the engine that will run the result, on the held-out inputs:

1. the whole model in int8, with and without reduce_range (graph.int8.quantize says why both);
   the more accurate of the two is kept (the one within budget, if only one is);
2. if that misses the budget, each int8 layer is kept float on its own and the model's relative
   error measured: the layers whose float copy cuts the error most come first (ranked by this
   error, also under a user's metric, which only says yes or no);
3. layers are kept float in that order, one more each step, until the budget is met. If it is
   not met even then, the search says so (met False) and the caller returns the float result.

Depthwise, first and last layers are candidates like any other: measurement decides.
"""
from .quantize import int8_layers


def search(quantizer, evaluate, judge, say=lambda step: None):
    """The int8 model chosen: {"data", "engine", "verdict", "reduce_range": {"kept", "off",
    "on"}, "kept_float": [{"node", "error_int8", "error_float"}], "builds", "met"}.

    evaluate(data) -> (engine, outputs on the held-out inputs); judge(outputs) -> the budget's
    verdict on them ({"met", "error", ...}, graph.int8.budget.Budget.judge).
    """
    builds = 0

    def attempt(exclude, reduce_range):
        nonlocal builds
        builds += 1
        data = quantizer(exclude=exclude, reduce_range=reduce_range)
        engine, outputs = evaluate(data)
        return {"data": data, "engine": engine, "verdict": judge(outputs)}

    say("int8: calibrate and quantize (reduce_range off and on)")
    off, on = attempt((), False), attempt((), True)
    use_on = on["verdict"]["met"] and not off["verdict"]["met"] or (
        on["verdict"]["met"] == off["verdict"]["met"] and on["verdict"]["error"] < off["verdict"]["error"])
    best, reduce_range = (on, True) if use_on else (off, False)
    found = {"reduce_range": {"kept": reduce_range, "off": off["verdict"]["error"],
                              "on": on["verdict"]["error"]}, "kept_float": []}
    if not best["verdict"]["met"]:
        ranked = _ranked(best, attempt, reduce_range, say)
        for k in range(1, len(ranked) + 1):
            say(f"int8: {k} of {len(ranked)} layers kept float")
            best = attempt([r["node"] for r in ranked[:k]], reduce_range)
            if best["verdict"]["met"]:
                found["kept_float"] = ranked[:k]
                break
    return {**best, **found, "builds": builds, "met": best["verdict"]["met"]}


def _ranked(base, attempt, reduce_range, say):
    """The int8 layers, the one whose float copy cuts the error most first."""
    layers = sorted(int8_layers(base["data"]))
    costs = []
    for i, node in enumerate(layers, 1):
        say(f"int8: measuring what each layer costs ({i}/{len(layers)})")
        error = attempt([node], reduce_range)["verdict"]["error"]
        costs.append({"node": node, "error_int8": base["verdict"]["error"], "error_float": error})
    return sorted(costs, key=lambda c: c["error_float"])
