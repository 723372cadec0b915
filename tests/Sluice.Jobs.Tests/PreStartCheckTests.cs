namespace Sluice.Jobs.Tests;

/// <summary>What can be known wrong before a job starts is found before it starts, by <c>run</c> and <c>explain</c> alike.</summary>
public class PreStartCheckTests : IDisposable
{
    private readonly TempDir _dir = new();

    public PreStartCheckTests() => File.WriteAllText(_dir["vocab.txt"], "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Parse_StageReadsAColumnTheSourceLacks_IsRefusedNamingTheColumnAndTheSchema()
    {
        File.WriteAllText(_dir["rows.jsonl"], "{\"body\": \"a\", \"id\": 1}\n");
        var yaml = $$"""
            read: { format: jsonl, path: {{_dir["rows.jsonl"]}} }
            stages:
              - { name: tokenize, op: bert_tokenize, vocab: {{_dir["vocab.txt"]}}, column: text }
            write: { format: parquet, path: {{_dir["out"]}} }
            """;
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(yaml, "job.yaml", new SpecOptions { Prepare = false }));
        var error = Assert.Single(e.Errors);
        Assert.Equal("stages[0]", error.Field);
        Assert.Equal("text", error.Value);
        Assert.Contains("its columns are: body, id", error.Accepted);
        Assert.Equal(3, error.At!.Line);

        var fixedSpec = JobSpecParser.Parse(yaml, "job.yaml", ["stages.tokenize.column=body"]);
        Assert.Single(fixedSpec.Stages);
    }

    [Fact]
    public void Parse_PoolMinimumsThatDoNotFitTheNode_AreRefusedNamingPoolMin()
    {
        const string yaml = """
            read: { format: range, count: 10 }
            stages:
              - { name: A, op: simulate, pool: { min: 1, max: 4 } }
              - { name: B, op: simulate, pool: { min: 2, max: 4 } }
            write: { format: jsonl, path: unused }
            execution: { sim_gpus: 2, cpus: 2 }
            """;
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(yaml, "job.yaml", []));
        var error = Assert.Single(e.Errors);
        Assert.Equal("stages[1].pool.min", error.Field);
        Assert.Contains("needs 2 actors of gpus=1 at once, but only 1 fit", error.Accepted);

        Assert.Equal(2, JobSpecParser.Parse(yaml, "job.yaml", ["execution.sim_gpus=3"]).Stages.Count);
    }

    [Fact]
    public void Parse_SetValueOfTheWrongType_NamesTheSetArgumentNotALineOfTheFile()
    {
        const string yaml = """
            read: { format: range, count: 10 }
            stages:
              - { name: A, op: simulate }
            write: { format: jsonl, path: unused }
            execution: { sim_gpus: 1 }
            """;
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(yaml, "job.yaml", ["stages.A.batch_size=many", "read.block_rows=0x"]));
        Assert.Equal(2, e.Errors.Count);
        var batch = e.Errors.Single(x => x.Field == "stages[0].batch_size");
        Assert.Equal(new SpecLocation("--set stages.A.batch_size=many", null), batch.At);
        Assert.Equal("many", batch.Value);
        Assert.Equal("give a whole number", batch.Accepted);
        Assert.StartsWith("--set read.block_rows=0x: read.block_rows: '0x' is not accepted", e.Errors.Single(x => x.Field == "read.block_rows").ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnknownWriteModeAndDispatch_ListTheSpecNames()
    {
        const string yaml = """
            read: { format: range, count: 10 }
            stages: []
            write: { format: jsonl, path: unused, mode: sometimes }
            execution: { dispatch: random }
            """;
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(yaml, "job.yaml", []));
        Assert.Contains(e.Errors, x => x.Field == "write.mode" && x.Accepted == "give one of: error, overwrite, resume");
        Assert.Contains(e.Errors, x => x.Field == "execution.dispatch" && x.Accepted == "give one of: mru, least_loaded");
    }

    [Fact]
    public void Parse_ZeroBlockRowsParallelismAndCpus_AreRefusedNamingTheFields()
    {
        const string yaml = """
            read: { format: range, count: 10, block_rows: 0, parallelism: 0 }
            stages: []
            write: { format: jsonl, path: unused }
            execution: { cpus: 0, actor_idle_timeout_s: -1 }
            """;
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(yaml, "job.yaml", []));
        Assert.Equal(["execution.actor_idle_timeout_s", "execution.cpus", "read.block_rows", "read.parallelism"], e.Errors.Select(x => x.Field).Order(StringComparer.Ordinal));
        Assert.Contains(e.Errors, x => x is { Field: "read.block_rows", Value: "0", At.Line: 1 });
    }

    [Fact]
    public void Parse_TimeLimits_BindInSecondsAndNonPositiveOnesAreRefused()
    {
        const string ok = """
            read: { format: range, count: 10 }
            stages: []
            write: { format: jsonl, path: unused }
            execution: { timeout_s: 3600, no_progress_timeout_s: 120 }
            """;
        var options = JobSpecParser.Parse(ok, "job.yaml", []).Options();
        Assert.Equal(TimeSpan.FromHours(1), options.Timeout);
        Assert.Equal(TimeSpan.FromMinutes(2), options.NoProgressTimeout);

        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(ok.Replace("timeout_s: 3600", "timeout_s: 0", StringComparison.Ordinal).Replace("120", "-5", StringComparison.Ordinal), "job.yaml", []));
        Assert.Equal(["execution.no_progress_timeout_s", "execution.timeout_s"], e.Errors.Select(x => x.Field).Order(StringComparer.Ordinal));
    }
}
