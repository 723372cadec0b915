using System.Globalization;
using Sluice.Execution.Stats;

namespace Sluice.Cli.Output;

/// <summary>
/// The job's snapshot as plain lines that fit a narrow terminal (80 columns): one line per stage, then a line for each
/// stage that is back-pressured, scaling or waiting for room, cut to the width rather than wrapped.
/// </summary>
internal static class CompactView
{
    private const int NameWidth = 16;

    public static IReadOnlyList<string> Lines(ExecutionSnapshot s, ProgressEstimate? progress, int width, bool final = false)
    {
        var lines = new List<string> { Fit(Heading(s, progress, width, final), width) };
        lines.Add(Fit($"{"stage",-NameWidth} {"rows out",10} {"rows/s",9} {"queued",13} {"held",9} {"actors",7} state", width));
        foreach (var op in s.Operators)
        {
            var state = op.Done ? "done" : op.BackPressure is not null ? "blocked" : op.TasksRunning > 0 ? "running" : "waiting";
            var actors = op.Kind == "actors" ? $"{op.ActorsReady - op.ActorsIdle}/{op.ActorsIdle}/{op.ActorsStarting}" : "-";
            var queued = $"{op.QueuedBlocks} {Format.Bytes(op.QueuedBytes)}";
            lines.Add(Fit($"{Name(op.Name),-NameWidth} {Format.Count(op.RowsOut),10} {Format.Rate(op.RowsPerSecond),9} {queued,13} {Format.Bytes(op.OutputBytes),9} {actors,7} {state}", width));
        }
        foreach (var op in s.Operators)
        {
            if (op.BackPressure is { } bp && !op.Done) lines.Add(Fit($"  {op.Name}: back-pressure: {bp}", width));
            if (op.LastScaling is { } scaling) lines.Add(Fit($"  {op.Name}: pool {scaling}", width));
            if (op.ErroredRows > 0) lines.Add(Fit($"  {op.Name}: {StatsView.Errored(op)}", width));
            if (op.BackupsLaunched > 0) lines.Add(Fit($"  {op.Name}: {StatsView.Backups(op)}", width));
            if (StatsView.Tokens(s, op) is { } tokens) lines.Add(Fit($"  {op.Name}: {tokens}", width));
            if (s.Unmet.FirstOrDefault(u => u.Stage == op.Name) is { } unmet) lines.Add(Fit($"  {op.Name}: wants {unmet.Actors} more actor(s) that fit no node", width));
        }
        var memory = $"memory {Format.Bytes(s.UsedBytes)} (peak {Format.Bytes(s.PeakUsedBytes)}) of {Format.Bytes(s.BudgetBytes)}; actors b/i/s = busy/idle/starting";
        lines.Add(Fit(memory, width));
        if (s.DeviceUtilization.Count > 0) lines.Add(Fit($"simulated GPUs: {StatsView.Utilization(s)}", width));
        if (s.Stall is { } stall) lines.Add(Fit($"STALLED: {stall}", width));
        foreach (var node in s.Suspected) lines.Add(Fit(node, width));
        return lines;
    }

    /// <summary>"Sluice 0:12.3  45% [#####-----] ETA 0:15  1,800 of ~4,000 rows": the bar takes what the width leaves.</summary>
    private static string Heading(ExecutionSnapshot s, ProgressEstimate? progress, int width, bool final)
    {
        var head = $"{(final ? "Job stats" : "Sluice")} {Format.Duration(s.Elapsed)}";
        if (progress is null) return head;
        var pct = string.Create(CultureInfo.InvariantCulture, $"{progress.Fraction * 100:0}%");
        var eta = progress.Remaining is { } r && progress.Fraction < 1 ? $" ETA {Format.Eta(r)}" : "";
        var tail = $"{eta}  {progress.Basis}";
        var barWidth = Math.Clamp(width - head.Length - pct.Length - tail.Length - 5, 0, 30);
        var bar = barWidth >= 5 ? " [" + new string('#', (int)Math.Round(barWidth * progress.Fraction)).PadRight(barWidth, '-') + "]" : "";
        return $"{head}  {pct}{bar}{tail}";
    }

    private static string Name(string name) => name.Length <= NameWidth ? name : name[..(NameWidth - 1)] + "…";

    /// <summary>Cuts a line to <paramref name="width"/> columns: a long reason is cut, never wrapped into the table.</summary>
    internal static string Fit(string line, int width) => line.Length <= width ? line : line[..Math.Max(0, width - 1)] + "…";
}
