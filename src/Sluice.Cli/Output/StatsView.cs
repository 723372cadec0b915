using Sluice.Execution.Stats;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Sluice.Cli.Output;

/// <summary>Draws a job's snapshot: live (one row per operator) and at the end as the stats table.</summary>
internal static class StatsView
{
    public static IRenderable Live(ExecutionSnapshot s) => Table(s, final: false);

    public static IRenderable Final(ExecutionSnapshot s) => Table(s, final: true);

    private static Table Table(ExecutionSnapshot s, bool final)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .Title(final ? $"[bold]Job stats[/] — {Format.Duration(s.Elapsed)}" : $"[bold]Sluice[/] — {Format.Duration(s.Elapsed)}")
            .Caption($"blocks in flight {Format.Bytes(s.UsedBytes)} (peak {Format.Bytes(s.PeakUsedBytes)}) of budget {Format.Bytes(s.BudgetBytes)}; resources in use {s.Resources}{Devices(s)}");
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
                Format.Count(op.RowsOut),
                Format.Rate(op.RowsPerSecond),
                $"{op.TasksRunning} running, {Format.Count(op.TasksDone)} done{(op.TaskRetries > 0 ? $", {op.TaskRetries} retried" : "")}",
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

    /// <summary>One plain line per operator, for logs and non-interactive terminals.</summary>
    public static IEnumerable<string> Lines(ExecutionSnapshot s)
    {
        foreach (var op in s.Operators)
        {
            var bp = op.BackPressure is null ? "" : $" back-pressure: {op.BackPressure}";
            var actors = op.Kind == "actors" ? $" actors {op.ActorsReady} ready/{op.ActorsStarting} starting/{op.ActorsIdle} idle (target {op.Target}) pool {op.LastScaling}" : "";
            var unmet = Unmet(s, op) is { } more ? $" wants {more} more actor(s) that fit no node" : "";
            yield return $"[{Format.Duration(s.Elapsed)}] {op.Name}: {Format.Count(op.RowsOut)} rows ({Format.Rate(op.RowsPerSecond)}), queued {op.QueuedBlocks} blocks ({Format.Bytes(op.QueuedBytes)}){actors}{unmet}{bp}{(op.Done ? " done" : "")}";
        }
    }

    /// <summary>Actors the stage wants that no node can take now (what an autoscaler adds workers for); null when none.</summary>
    private static int? Unmet(ExecutionSnapshot s, OperatorSnapshot op) => s.Unmet.FirstOrDefault(u => u.Stage == op.Name)?.Actors;
}
