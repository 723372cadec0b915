using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution.Operators;
using Sluice.Plan;

namespace Sluice.Execution;

/// <summary>
/// Rows that stages with <c>on_error: skip | dead_letter</c> failed on (<see cref="DeadLetter"/>): counted per stage when
/// their block leaves the last stage, each row once (a block lost there is recomputed and passes again; a block a resumed
/// job drops as already committed is not counted again), and held to the stage's limits. Loop-only state.
/// </summary>
internal sealed partial class StreamingExecutor
{
    /// <summary>Errors an over-limit failure names: enough to see a pattern, few enough for one message.</summary>
    private const int FirstErrorsShown = 5;

    private readonly Dictionary<string, StageErrors> _stageErrors = new(StringComparer.Ordinal);

    /// <summary>
    /// Collects the stages that isolate failing rows and refuses, before the output is touched, a dead_letter stage
    /// whose rows would have nowhere to go: dead letters are never dropped silently.
    /// </summary>
    private void PrepareDeadLetters()
    {
        _stageErrors.Clear();
        _lettersCounted.Clear();
        foreach (var map in _logical.Chain().OfType<MapBatchesOperator>())
        {
            if (map.Options.OnError == OnError.Fail) continue;
            _stageErrors.TryAdd(map.Name, new StageErrors(map.Options));
            if (map.Options.OnError != OnError.DeadLetter || _sink?.HoldsDeadLetters == true) continue;
            var where = _sink is null ? "this job's output is taken in memory (take, iterate, to_list)" : $"its sink '{_sink.Name}' does not write dead letters";
            throw new SluiceException(
                $"stage '{map.Name}' has on_error: dead_letter, but {where}; write the output to files (parquet, jsonl, csv keep dead letters in _errors/) or give on_error: skip");
        }
    }

    // The dead letters counted, by stage, read task and row: a block lost after the last stage is recomputed and passes
    // there again with the same letters (cut into slices the second time, perhaps), which the output writes once and the
    // stats must count once.
    private readonly HashSet<(string Stage, string Task, long Row)> _lettersCounted = [];

    /// <summary>Counts the dead letters of a block leaving the last stage, each once; over a stage's max_errored_rows, fails the job.</summary>
    private void CountDeadLetters(BlockRef block)
    {
        foreach (var letter in block.DeadLetters)
        {
            if (!_stageErrors.TryGetValue(letter.Stage, out var stage) || !_lettersCounted.Add((letter.Stage, letter.TaskId, letter.Row))) continue;
            stage.Rows++;
            if (stage.First.Count < FirstErrorsShown) stage.First.Add(letter);
            OperatorOf(letter.Stage)?.RecordErrored();
            if (stage.Options.MaxErroredRows is { } max && stage.Rows > max)
                throw new SluiceException($"stage '{letter.Stage}' failed on {stage.Rows} rows, over its max_errored_rows {max}; first errors: {stage.Describe()}");
        }
    }

    /// <summary>
    /// Once every row was read and went through: fails the job when a stage's errored rows exceed its max_errored_fraction
    /// of the rows read (rows a stage fused into the read dropped as errored count as read).
    /// </summary>
    private void CheckErroredFractions()
    {
        if (_ops.Count == 0) return;
        var source = _ops[0];
        var read = source.ErroredInside + source.RowsOut;
        foreach (var (name, stage) in _stageErrors)
        {
            if (stage.Options.MaxErroredFraction is not { } most || read == 0 || (double)stage.Rows / read <= most) continue;
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            throw new SluiceException(
                $"stage '{name}' failed on {stage.Rows} of {read} rows read ({((double)stage.Rows / read).ToString("P2", inv)}), over its max_errored_fraction {most.ToString(inv)}; first errors: {stage.Describe()}");
        }
    }

    /// <summary>The operator running a stage: its own, or the one it was fused into (<c>Read[x]->a->b</c>).</summary>
    private OperatorState? OperatorOf(string stage) =>
        _ops.FirstOrDefault(o => o.Name == stage) ?? _ops.FirstOrDefault(o => o.Name.Split("->").Contains(stage, StringComparer.Ordinal));

    private sealed class StageErrors(MapBatchesOptions options)
    {
        public MapBatchesOptions Options => options;

        public long Rows;

        public List<DeadLetter> First { get; } = [];

        public string Describe() => string.Join("; ", First.Select(l => l.Describe())) + (Rows > First.Count ? $"; and {Rows - First.Count} more" : "");
    }
}
