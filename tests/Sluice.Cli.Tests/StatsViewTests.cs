using Sluice.Cli.Output;
using Sluice.Execution.Stats;
using Spectre.Console;

namespace Sluice.Cli.Tests;

public class StatsViewTests
{
    private static OperatorSnapshot Op(string name, string kind, long rows, string? backPressure = null, string? scaling = null, bool done = false) =>
        new(name, kind, rows, rows / 32, rows * 1600, 3, rows / 32, 2, 48, 75L << 20, 12L << 20, 5, 2, 1, 9, backPressure, scaling, 1234.5, TimeSpan.FromSeconds(30), done)
        {
            Target = kind == "actors" ? 8 : null,
        };

    /// <summary>A job as wide as they come: long fused stage names, long reasons, big numbers, simulated GPUs.</summary>
    private static ExecutionSnapshot Job() => new(
        [
            Op("Read[text(data/docs/*.txt)]->tokenize", "read", 1_234_567, backPressure: "output share full: 512.0 MiB held of 512.0 MiB (downstream 'embed' is slower)", done: false),
            Op("embed", "actors", 987_654, scaling: "up 3: queue 48 blocks, utilization 1.9, cost 4.2 ms/row, 2 GPUs free on node worker-1"),
            Op("Write[parquet(out/embeddings)]", "write", 987_000),
        ],
        700L << 20, 900L << 20, 1L << 30, TimeSpan.FromSeconds(754.3), "cpus 2/2 gpus 8/8")
    {
        DeviceUtilization = [0.91, 0.88],
        DeviceAskedUtilization = [0.9, 0.87],
        Unmet = [new ActorDemand("embed", new Sluice.Contracts.ResourceRequest(Gpus: 1), 2)],
    };

    private static readonly ProgressEstimate Progress = new(0.4512, TimeSpan.FromSeconds(917), "987,000 of ~2,187,000 rows");

    [Fact]
    public void CompactLines_SnapshotAt80Columns_FitAndShowStagesRowsAndPercent()
    {
        var lines = CompactView.Lines(Job(), Progress, 80);
        Assert.All(lines, l => Assert.True(l.Length <= 80, $"{l.Length} columns: {l}"));
        var text = string.Join('\n', lines);
        Assert.Contains("45%", text, StringComparison.Ordinal);
        Assert.Contains("ETA 15:17", text, StringComparison.Ordinal);
        Assert.Contains("embed", text, StringComparison.Ordinal);
        Assert.Contains("Write[parquet(", text, StringComparison.Ordinal);
        Assert.Contains("Read[text(data/", text, StringComparison.Ordinal);
        foreach (var rows in new[] { "1,234,567", "987,654", "987,000" }) Assert.Contains(rows, text, StringComparison.Ordinal);
        Assert.Contains("embed: pool up 3", text, StringComparison.Ordinal);
        Assert.Contains("wants 2 more actor(s)", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Live_NarrowConsole_RendersEveryLineWithinItsWidth()
    {
        foreach (var width in new[] { 80, 100, 120 })
        {
            var output = Render(StatsView.Live(Job(), Progress, width, ["03:25:44.5 info stage 'embed' pool up 3: queue 30 blocks, 0 free slots, a reason long enough to need cutting at the width"]), width);
            var lines = output.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
            Assert.All(lines, l => Assert.True(l.TrimEnd().Length <= width, $"{l.TrimEnd().Length} > {width}: {l}"));
            // Nothing was wrapped: each stage is still one line that starts with its name.
            Assert.Contains(lines, l => l.StartsWith("embed ", StringComparison.Ordinal) && l.Contains("987,654", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.Contains("pool up 3", StringComparison.Ordinal) && l.StartsWith("03:25:44.5", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Live_WideConsole_DrawsTheTableWithProgressInTheTitle()
    {
        var output = Render(StatsView.Live(Job(), Progress, 200), 200);
        Assert.Contains("45% done, ETA 15:17 (987,000 of ~2,187,000 rows)", output, StringComparison.Ordinal);
        Assert.Contains("actors r/s/i", output, StringComparison.Ordinal);
    }

    [Fact]
    public void ErroredRows_StageThatDroppedRows_ShownInTheTableTheCompactViewAndThePlainLines()
    {
        var s = Job() with { Operators = [.. Job().Operators.Select(o => o.Name == "embed" ? o with { ErroredRows = 19 } : o)] };
        Assert.Contains("19 rows errored", Render(StatsView.Final(s, null, 200), 200), StringComparison.Ordinal);
        Assert.Contains("  embed: 19 rows errored", CompactView.Lines(s, null, 80));
        Assert.Contains(StatsView.Lines(s), l => l.Contains("embed: 987,654 rows, 19 rows errored", StringComparison.Ordinal));
        // Stages that dropped nothing say nothing about it.
        Assert.DoesNotContain("errored", Render(StatsView.Final(Job(), null, 200), 200), StringComparison.Ordinal);
    }

    [Fact]
    public void Backups_AndSuspectedNodes_ShownInTheTableTheCompactViewAndThePlainLines()
    {
        var s = Job() with
        {
            Operators = [.. Job().Operators.Select(o => o.Name == "embed" ? o with { BackupsLaunched = 3, BackupsWon = 2 } : o)],
            Suspected = ["node w2 suspected: no task finished for 9 s"],
        };
        var table = Render(StatsView.Final(s, null, 200), 200);
        Assert.Contains("3 backups (2 won)", table, StringComparison.Ordinal);
        Assert.Contains("node w2 suspected", table, StringComparison.Ordinal);
        var compact = CompactView.Lines(s, null, 80);
        Assert.Contains("  embed: 3 backups (2 won)", compact);
        Assert.Contains("node w2 suspected: no task finished for 9 s", compact);
        Assert.Contains(StatsView.Lines(s), l => l.Contains("embed: 987,654 rows, 3 backups (2 won)", StringComparison.Ordinal));
        Assert.DoesNotContain("backup", Render(StatsView.Final(Job(), null, 200), 200), StringComparison.Ordinal);
    }

    [Fact]
    public void Tokens_ShownAtTheStageThatGeneratedThem_NotAtTheStagesThatPassThemOn()
    {
        var ops = Job().Operators.ToList();
        var at = ops.FindIndex(o => o.Name == "embed");
        ops = [.. ops.Select((o, i) => i >= at ? o with { TokensOut = 12_345, TokensPerSecond = 1234.5 } : o)];
        var s = Job() with { Operators = ops };
        var plain = StatsView.Lines(s).ToList();
        Assert.Single(plain, l => l.Contains("12,345 tokens (1,234.5 tok/s)", StringComparison.Ordinal));
        Assert.Contains(plain, l => l.Contains("embed: 987,654 rows, 12,345 tokens", StringComparison.Ordinal));
        Assert.Contains("  embed: 12,345 tokens (1,234.5 tok/s)", CompactView.Lines(s, null, 80));
        Assert.Contains("1,234.5 tok/s", Render(StatsView.Final(s, null, 200), 200), StringComparison.Ordinal);
        Assert.DoesNotContain("tok/s", Render(StatsView.Final(Job(), null, 200), 200), StringComparison.Ordinal);
    }

    [Fact]
    public void Progress_RowsAgainstTheSourceEstimate_FractionAndTimeLeft()
    {
        var s = Job() with { Elapsed = TimeSpan.FromSeconds(100) };
        var p = ProgressEstimate.Of(s, new Sluice.Contracts.SourceEstimate(1L << 30, 2_000_000, 8, "8 files"))!;
        Assert.Equal(987_000 / 2_000_000.0, p.Fraction, 6);
        Assert.Equal(100 * (1 - p.Fraction) / p.Fraction, p.Remaining!.Value.TotalSeconds, 3);
        Assert.Null(ProgressEstimate.Of(s, new Sluice.Contracts.SourceEstimate(0, null, 1, "range")));
        var done = s with { Operators = [.. s.Operators.SkipLast(1), s.Operators[^1] with { Done = true }] };
        Assert.Equal(1, ProgressEstimate.Of(done, new Sluice.Contracts.SourceEstimate(1L << 30, 900_000, 8, "sampled short"))!.Fraction);
        // A sampled row count that is short never shows 100% before the end.
        Assert.Equal(0.99, ProgressEstimate.Of(s, new Sluice.Contracts.SourceEstimate(1L << 30, 900_000, 8, "sampled short"))!.Fraction);
    }

    private static string Render(Spectre.Console.Rendering.IRenderable view, int width)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = width;
        console.Write(view);
        return writer.ToString();
    }
}
