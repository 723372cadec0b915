namespace Sluice.Jobs.Tests;

/// <summary>
/// A URL as a dataset path is refused at parse time, naming the field and the scheme — never taken for a relative path
/// (<c>write: { path: s3://bucket/out }</c> once wrote into a local folder named <c>s3:</c> and reported success).
/// </summary>
public sealed class DatasetUrlTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Spec(string read, string write) => $$"""
        name: t
        read: { format: text, path: {{read}} }
        stages:
          - { name: sim, op: simulate, per_row_ms: 0 }
        write: { format: parquet, path: {{write}} }
        """;

    [Theory]
    [InlineData("gs://bucket/docs/*.txt", "'gs://' is not supported")]
    [InlineData("hdfs://namenode:8020/docs", "'hdfs://' is not supported")]
    [InlineData("abfss://data@acct.dfs.core.windows.net/docs", "'abfss://' is not supported")]
    public void ReadPathUrl_IsRefusedNamingTheFieldAndScheme(string url, string says)
    {
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec(url, _dir["out"]), "job.yaml", []));
        var error = Assert.Single(e.Errors).ToString();
        Assert.Contains("read.path", error, StringComparison.Ordinal);
        Assert.Contains(says, error, StringComparison.Ordinal);
    }

    [Fact]
    public void WritePathUrl_IsRefused_NothingCreated_PasswordNeverEchoed()
    {
        File.WriteAllText(_dir["in.txt"], "a\n");
        var cwd = Directory.GetCurrentDirectory();
        var e = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec(_dir["in.txt"], "s3://key:s3cr3t@bucket/out"), "job.yaml", []));
        var error = Assert.Single(e.Errors).ToString();
        Assert.Contains("write.path", error, StringComparison.Ordinal);
        Assert.Contains("s3://bucket/out", error, StringComparison.Ordinal);
        Assert.Contains("must not carry credentials", error, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(cwd, "s3:")));

        // The same through an override, as `sluice run job.yaml --set write.path=...` gives it.
        var o = Assert.Throws<SpecException>(() => JobSpecParser.Parse(Spec(_dir["in.txt"], _dir["out"]), "job.yaml", ["write.path=gs://b/out"]));
        Assert.Contains("'gs://' is not supported", Assert.Single(o.Errors).ToString(), StringComparison.Ordinal);
    }
}
