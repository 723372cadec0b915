using Sluice.Jobs;

namespace Sluice.Cli.Tests;

/// <summary>The README's job-spec reference is the registry's: it cannot drift from the ops and options records.</summary>
public class SpecReferenceTests
{
    [Fact]
    public void Readme_SpecReference_EqualsTheOneGeneratedFromTheRegistry()
    {
        var readme = File.ReadAllText(Repo.File("README.md")).ReplaceLineEndings("\n");
        const string begin = "<!-- spec-reference:begin -->\n", end = "<!-- spec-reference:end -->";
        var start = readme.IndexOf(begin, StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no spec-reference section");
        start += begin.Length;
        var section = readme[start..readme.IndexOf(end, start, StringComparison.Ordinal)];
        // On a mismatch: `sluice ops` prints the table to paste between the markers.
        Assert.Equal(SpecReference.Markdown(JobRegistry.CreateDefault()).ReplaceLineEndings("\n"), section);
    }

    [Fact]
    public void Markdown_ListsEveryRegisteredOpWithItsFieldsAndDefaults()
    {
        var md = SpecReference.Markdown(JobRegistry.CreateDefault().AddOp<Sluice.Execution.Simulation.SimulateProcessor, Sluice.Execution.Simulation.SimulateOptions>("slow_cpu"));
        Assert.Contains("| op: `slow_cpu` (resources: cpus=1) | `fixed_ms` | a number | 0 |", md);
        Assert.Contains("|  | `max_length` | a whole number | 128 |", md);
        Assert.Contains("| execution | `memory_budget` | a size such as 512MiB, 2GiB or 1048576 | — |", md);
    }
}
