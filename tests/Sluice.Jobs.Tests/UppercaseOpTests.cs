using Sluice.Execution;

namespace Sluice.Jobs.Tests;

/// <summary>A new op is one factory class (<see cref="UppercaseOp"/>) and one registration line: no switch anywhere is edited.</summary>
public class UppercaseOpTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Spec(string column) => $$"""
        read: { format: jsonl, path: {{_dir["rows.jsonl"]}} }
        stages:
          - { op: uppercase, column: {{column}} }
        write: { format: jsonl, path: {{_dir["out"]}} }
        """;

    [Fact]
    public async Task Registered_FactoryOp_RunsFromYamlAndItsInputColumnIsChecked()
    {
        File.WriteAllText(_dir["rows.jsonl"], "{\"name\": \"ada\"}\n{\"name\": \"grace\"}\n");
        var registry = JobRegistry.CreateDefault().Add(new UppercaseOp());

        var spec = JobSpecParser.Parse(Spec("name"), "job.yaml", new SpecOptions { Registry = registry });
        var rows = await spec.Dataset().TakeAsync(10, spec.Options() with { PreserveOrder = true });
        Assert.Equal(["ADA", "GRACE"], rows.Select(r => (string?)r["name"]));

        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec("title"), "job.yaml", new SpecOptions { Registry = registry }));
        Assert.Contains("reads column 'title', which the jsonl input does not have; its columns are: name", Assert.Single(e.Errors).Accepted);
        Assert.Contains("| op: `uppercase` (resources: none) | `column` | a non-empty text value | `text` |", SpecReference.Markdown(registry));
    }
}
