using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Sluice.Execution.Tests.Metrics;

/// <summary>deploy/grafana/sluice.json queries only metrics the engine's meter has, by the names Prometheus gives them.</summary>
public partial class GrafanaDashboardTests
{
    private static readonly string[] Labels = ["sluice_job", "sluice_stage", "sluice_stage_kind", "sluice_node", "sluice_device", "state", "direction"];

    [Fact]
    public void Dashboard_EveryQueriedMetric_IsAnInstrumentOfTheMeter()
    {
        var exported = MetricsCollector.Instruments().ToDictionary(PrometheusName, i => i.Name);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoRoot(), "deploy", "grafana", "sluice.json")));
        var queries = Expressions(doc.RootElement).ToList();
        Assert.True(queries.Count >= 10, $"only {queries.Count} queries");
        var used = new HashSet<string>();
        foreach (var query in queries)
        {
            var names = SluiceName().Matches(query).Select(m => m.Value).ToList();
            Assert.True(names.Count > 0, $"a query names no sluice metric: {query}");
            foreach (var name in names)
            {
                if (Labels.Contains(name)) continue;
                Assert.True(exported.ContainsKey(name), $"'{name}' (in {query}) is no instrument of the meter; it exports: {string.Join(", ", exported.Keys.Order())}");
                used.Add(exported[name]);
            }
        }
        // The panels the issue asks for: rows/s per stage, queue depth, held bytes, actors by state, device busy, retries.
        Assert.Superset(new HashSet<string> { "sluice.stage.rows", "sluice.stage.queue.blocks", "sluice.stage.held_bytes", "sluice.stage.actors", "sluice.device.busy_time", "sluice.stage.retries" }, used);
    }

    [Fact]
    public void Instruments_NamesAndUnits_FollowOpenTelemetryConventions()
    {
        var instruments = MetricsCollector.Instruments();
        Assert.Contains(instruments, i => i.Name == "sluice.stage.rows" && i.Unit == "{row}");
        Assert.Contains(instruments, i => i.Name == "sluice.stage.bytes" && i.Unit == "By");
        Assert.Contains(instruments, i => i.Name == "sluice.device.busy_time" && i.Unit == "s");
        Assert.All(instruments, i => Assert.Matches("^sluice(\\.[a-z_]+)+$", i.Name));
        Assert.All(instruments, i => Assert.False(string.IsNullOrEmpty(i.Unit), $"{i.Name} has no unit"));
        // No name is the namespace of another (sluice.stage.tasks and sluice.stage.tasks.x could not both be exported).
        Assert.All(instruments, i => Assert.DoesNotContain(instruments, o => o.Name.StartsWith(i.Name + ".", StringComparison.Ordinal)));
    }

    /// <summary>The name OpenTelemetry's Prometheus exporter gives an instrument: dots to underscores, the unit, _total for counters.</summary>
    internal static string PrometheusName(Instrument i)
    {
        var name = i.Name.Replace('.', '_');
        var unit = i.Unit switch { "By" => "bytes", "s" => "seconds", _ => "" };
        if (unit.Length > 0 && !name.EndsWith("_" + unit, StringComparison.Ordinal)) name += "_" + unit;
        var counter = i.GetType().Name.StartsWith("ObservableCounter", StringComparison.Ordinal) || i.GetType().Name.StartsWith("Counter", StringComparison.Ordinal);
        return counter ? name + "_total" : name;
    }

    private static IEnumerable<string> Expressions(JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in e.EnumerateObject())
            {
                if (p.Name is "expr" or "definition" && p.Value.ValueKind == JsonValueKind.String) yield return p.Value.GetString()!;
                foreach (var x in Expressions(p.Value)) yield return x;
            }
        }
        else if (e.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in e.EnumerateArray())
                foreach (var x in Expressions(item)) yield return x;
        }
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Sluice.slnx"))) return dir.FullName;
        throw new DirectoryNotFoundException("Sluice.slnx not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"\bsluice_[a-z_]+\b")]
    private static partial Regex SluiceName();
}
