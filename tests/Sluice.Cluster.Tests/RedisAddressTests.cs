namespace Sluice.Cluster.Tests;

/// <summary>The Redis address: where its password comes from, and that no printed form carries it.</summary>
public class RedisAddressTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    [Theory]
    [InlineData("redis://:s3cret@127.0.0.1:7000", null, "s3cret", 7000)]
    [InlineData("redis://alice:s3cret@127.0.0.1:7000", "alice", "s3cret", 7000)]
    [InlineData("redis://:p%40ss%3Aword@10.0.0.1", null, "p@ss:word", 6379)]
    [InlineData("redis://127.0.0.1:7000", null, null, 7000)]
    public void Parse_Url_TakesUserPasswordAndPort(string url, string? user, string? password, int port)
    {
        var address = RedisAddress.Parse(url);

        Assert.Equal((user, password, port), (address.User, address.Password, address.Port));
    }

    [Fact]
    public void ToString_WithPassword_IsMasked()
    {
        var address = RedisAddress.Parse("redis://alice:s3cret@127.0.0.1:7000");

        Assert.Equal("redis://***@127.0.0.1:7000", address.ToString());
        Assert.Equal("redis://127.0.0.1:7000", RedisAddress.Parse("redis://127.0.0.1:7000").ToString());
    }

    [Fact]
    public void Validate_UrlNotAccepted_ErrorMasksThePassword()
    {
        var errors = new ClusterNodeOptions { Redis = "http://:s3cret@host:1" }.Validate(new(2, 0, 1L << 30)).ToList();

        var error = Assert.Single(errors);
        Assert.Contains("'http://***@host:1' is not accepted", error);
        Assert.DoesNotContain("s3cret", error);
    }

    [Fact]
    public void ToString_Options_MasksThePassword()
    {
        var options = new ClusterNodeOptions { Redis = "redis://:s3cret@127.0.0.1:7000" };

        Assert.DoesNotContain("s3cret", options.ToString());
        Assert.Contains("redis://***@127.0.0.1:7000", options.ToString());
        Assert.Equal("redis://***@127.0.0.1:7000", options.MaskedRedis);
    }

    [Fact]
    public void Resolve_PasswordInUrl_WinsOverFileAndEnvironment()
    {
        var address = RedisAddress.Resolve("redis://:fromurl@127.0.0.1:7000", "/no/such/file", _ => "fromenv");

        Assert.Equal("fromurl", address.Password);
    }

    [Fact]
    public void Resolve_File_TrailingNewlineIsNotPartOfThePassword()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "fromfile\n");

            var address = RedisAddress.Resolve("redis://127.0.0.1:7000", file, _ => "fromenv");

            Assert.Equal("fromfile", address.Password);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Resolve_NoUrlPasswordNoFile_TakesTheEnvironmentVariable()
    {
        var address = RedisAddress.Resolve("redis://127.0.0.1:7000", null, name => name == "SLUICE_REDIS_PASSWORD" ? "fromenv" : null);

        Assert.Equal("fromenv", address.Password);
        Assert.Null(RedisAddress.Resolve("redis://127.0.0.1:7000", null, NoEnvironment).Password);
    }

    [Fact]
    public void Resolve_FileMissing_NamesTheFlagAndPath()
    {
        var e = Assert.Throws<SluiceException>(() => RedisAddress.Resolve("redis://127.0.0.1:7000", "/no/such/password-file", NoEnvironment));

        Assert.StartsWith("--redis-password-file: cannot read '/no/such/password-file'", e.Message);
    }
}
