using Sluice.Execution.Stats;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Sluice.Cli.Output;

/// <summary>Draws a job's snapshot: live (one row per operator) and at the end as the stats table.</summary>
internal static class StatsView
{
    /// <summary>The wide table's columns need about this many; a narrower console gets <see cref="CompactView"/>.</summary>
    public const int WideWidth = 150;

    /// <param name="log">The latest lines of the decision log (<c>--verbose</c>), shown under the table.</param>
    public static IRenderable Live(ExecutionSnapshot s, ProgressEstimate? progress = null, int width = int.MaxValue, IReadOnlyList<string>? log = null)
    {
        var view = View(s, progress, width, final: false);
        if (log is not { Count: > 0 }) return view;
        return new Spectre.Console.Rows(view, new Text(string.Join('\n', log.Select(l => CompactView.Fit(l, Math.Min(width, 1000))))));
    }

    public static IRenderable Final(ExecutionSnapshot s, ProgressEstimate? progress = null, int width = int.MaxValue) => View(s, progress, width, final: true);

    private static IRenderable View(ExecutionSnapshot s, ProgressEstimate? progress, int width, bool final) =>
        // The compact view's text ends with a line break, as the table does: what is printed next starts on a line of its own.
        width < WideWidth ? new Text(string.Join('\n', CompactView.Lines(s, progress, width, final)) + (final ? "\n" : "")) : Table(s, progress, final);

    private static Table Table(ExecutionSnapshot s, ProgressEstimate? progress, bool final)
    {
        var done = progress is null ? "" : $" — {Progress(progress)}";
        var table = new Table().Border(TableBorder.Rounded)
            .Title(final ? $"[bold]Job stats[/] — {Format.Duration(s.Elapsed)}" : $"[bold]Sluice[/] — {Format.Duration(s.Elapsed)}{Markup.Escape(done)}")
            .Caption($"blocks in flight {Format.Bytes(s.UsedBytes)} (peak {Format.Bytes(s.PeakUsedBytes)}) of budget {Format.Bytes(s.BudgetBytes)}; resources in use {s.Resources}{Devices(s)}"
                + (s.Stall is { } stall ? $"\n[yellow]stalled: {Markup.Escape(stall)}[/]" : "")
                + string.Concat(s.Suspected.Select(n => $"\n[yellow]{Markup.Escape(n)}[/]")));
        foreach (var c in new[] { "stage", "kind", "rows out", "rows/s", "tasks", "queued", "output held", "actors r/s/i", "state" })
            table.AddColumn(new TableColumn(c));
        foreach (var op in s.Operators)
        {
            var state = op.Done ? "[green]done[/]" : op.BackPressure is { } bp ? $"[yellow]back-pressure[/]: {Markup.Escape(bp)}" : op.TasksRunning > 0 ? "running" : "waiting";
            if (op.LastScaling is { } scaling) state += $"\n[grey]pool {Markup.Escape(scaling)}[/]";
            if (Unmet(s, op) is { } more) state += $"\n[yellow]wants {more} more actor(s) that fit no node[/]";
            table.AddRow(
                Markup.Escape(op.Name),
                op.Kind,
                Format.Count(op.RowsOut) + (op.ErroredRows > 0 ? $"\n[red]{Errored(op)}[/]" : ""),
                Format.Rate(op.RowsPerSecond) + (Tokens(s, op) is not null ? $"\n{op.TokensPerSecond.ToString("N1", System.Globalization.CultureInfo.InvariantCulture)} tok/s" : ""),
                $"{op.TasksRunning} running, {Format.Count(op.TasksDone)} done{(op.TaskRetries > 0 ? $", {op.TaskRetries} retried" : "")}{(op.BackupsLaunched > 0 ? $"\n{Backups(op)}" : "")}",
                $"{op.QueuedBlocks} ({Format.Bytes(op.QueuedBytes)})",
                Format.Bytes(op.OutputBytes),
                op.Kind == "actors" ? $"{op.ActorsReady}/{op.ActorsStarting}/{op.ActorsIdle} ({op.ActorsStarted} started, peak {op.PeakActors}){Target(op)}" : "-",
                state);
        }
        return table;
    }

    private static string Target(OperatorSnapshot op) =>
        (op.Target is { } t ? $"\ntarget {t}" : "") + (op.CostMsPerRow is { } c ? $", {c:0.###} ms/row" : "") + (op.Resources is { } r ? $"\neach {r}" : "");

    private static string Devices(ExecutionSnapshot s)
    {
        if (s.DeviceUtilization.Count == 0) return "";
        var each = string.Join(" ", s.DeviceUtilization.Select((u, i) => $"{i}:{u:P0}"));
        return $"\nsimulated GPU utilization (busy / wall): {Utilization(s)} — held per device {each}";
    }

    /// <summary>
    /// "asked X%, held Y%": what the job's batches asked of the devices and how long the clock really held them
    /// (the difference is the timer's overshoot, not work).
    /// </summary>
    internal static string Utilization(ExecutionSnapshot s)
    {
        var asked = s.DeviceAskedUtilization.Count > 0 ? s.DeviceAskedUtilization.Average() : 0;
        return $"asked {asked:P0}, held {s.DeviceUtilization.Average():P0}";
    }

    /// <summary>"45% done, ETA 0:15 (1,800 of ~4,000 rows)".</summary>
    public static string Progress(ProgressEstimate p) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{p.Fraction * 100:0}% done")
        + (p.Remaining is { } r && p.Fraction < 1 ? $", ETA {Format.Eta(r)}" : "") + $" ({p.Basis})";

    /// <summary>One plain line per operator, for logs and non-interactive terminals.</summary>
    public static IEnumerable<string> Lines(ExecutionSnapshot s, ProgressEstimate? progress = null)
    {
        if (progress is not null) yield return $"[{Format.Duration(s.Elapsed)}] {Progress(progress)}";
        foreach (var op in s.Operators)
        {
            var bp = op.BackPressure is null ? "" : $" back-pressure: {op.BackPressure}";
            var actors = op.Kind == "actors" ? $" actors {op.ActorsReady} ready/{op.ActorsStarting} starting/{op.ActorsIdle} idle (target {op.Target}) pool {op.LastScaling}" : "";
            var unmet = Unmet(s, op) is { } more ? $" wants {more} more actor(s) that fit no node" : "";
            var errored = (op.ErroredRows > 0 ? $", {Errored(op)}" : "") + (op.BackupsLaunched > 0 ? $", {Backups(op)}" : "")
                + (Tokens(s, op) is { } tokens ? $", {tokens}" : "");
            yield return $"[{Format.Duration(s.Elapsed)}] {op.Name}: {Format.Count(op.RowsOut)} rows{errored} ({Format.Rate(op.RowsPerSecond)}), queued {op.QueuedBlocks} blocks ({Format.Bytes(op.QueuedBytes)}){actors}{unmet}{bp}{(op.Done ? " done" : "")}";
        }
    }

    /// <summary>
    /// "12,345 tokens (1,234.5 tok/s)" for the stage that generated tokens — the first whose output carries them; later
    /// stages pass the same tokens on and say nothing. Null for every other stage.
    /// </summary>
    internal static string? Tokens(ExecutionSnapshot s, OperatorSnapshot op)
    {
        if (op.TokensOut == 0) return null;
        var at = s.Operators.ToList().IndexOf(op);
        if (at > 0 && s.Operators[at - 1].TokensOut > 0) return null;
        return $"{Format.Count(op.TokensOut)} tokens ({op.TokensPerSecond.ToString("N1", System.Globalization.CultureInfo.InvariantCulture)} tok/s)";
    }

    /// <summary>"3 backups (2 won)": speculative copies of straggling tasks, and how many finished first.</summary>
    internal static string Backups(OperatorSnapshot op) => $"{Format.Count(op.BackupsLaunched)} backup{(op.BackupsLaunched == 1 ? "" : "s")} ({Format.Count(op.BackupsWon)} won)";

    /// <summary>"12 rows errored": rows the stage failed on and dropped (on_error skip or dead_letter; dead letters are in the output's _errors/).</summary>
    internal static string Errored(OperatorSnapshot op) => $"{Format.Count(op.ErroredRows)} rows errored";

    /// <summary>Actors the stage wants that no node can take now (what an autoscaler adds workers for); null when none.</summary>
    private static int? Unmet(ExecutionSnapshot s, OperatorSnapshot op) => s.Unmet.FirstOrDefault(u => u.Stage == op.Name)?.Actors;
}
