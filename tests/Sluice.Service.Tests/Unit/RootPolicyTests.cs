using Sluice.Service.Roots;

namespace Sluice.Service.Tests;

public sealed class RootPolicyTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly RootPolicy _policy;

    public RootPolicyTests()
    {
        _dir.Dir("root/data");
        _dir.Dir("outside");
        File.WriteAllText(_dir["root/data/a.txt"], "x");
        File.WriteAllText(_dir["outside/secret.txt"], "x");
        _dir.Dir("root-sibling");
        _policy = new RootPolicy([_dir["root"]], [_dir["root/.state"]]);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Allows_FilesDirectoriesAndGlobsUnderARoot_AreAllowed()
    {
        Assert.True(_policy.Allows(_dir["root/data/a.txt"]));
        Assert.True(new RootPolicy([_dir["root"]]).Allows(_dir["root"]));
        Assert.True(_policy.Allows(_dir["root/data/*.txt"]));
        // An output directory that does not exist yet.
        Assert.True(_policy.Allows(_dir["root/out/embeddings"]));
        Assert.True(_policy.Allows(_dir["root/data/../out"]));
    }

    [Fact]
    public void Allows_DotDotOutOfTheRoot_IsRefused()
    {
        Assert.False(_policy.Allows(_dir["root/../outside/secret.txt"]));
        Assert.False(_policy.Allows(_dir["root/data/../../outside"]));
        Assert.False(_policy.Allows(_dir["root/data/*/../../../outside/*.txt"]));
        Assert.False(_policy.Allows("/etc/passwd"));
    }

    [Fact]
    public void Allows_ASiblingWhoseNameStartsLikeTheRoot_IsRefused() => Assert.False(_policy.Allows(_dir["root-sibling/x"]));

    [Fact]
    public void Allows_ASymlinkLeadingOut_IsRefused()
    {
        File.CreateSymbolicLink(_dir["root/data/link.txt"], _dir["outside/secret.txt"]);
        Directory.CreateSymbolicLink(_dir["root/escape"], _dir["outside"]);

        Assert.False(_policy.Allows(_dir["root/data/link.txt"]));
        Assert.False(_policy.Allows(_dir["root/escape"]));
        // A link in the middle of the path, and a file under it that does not exist yet (an output).
        Assert.False(_policy.Allows(_dir["root/escape/secret.txt"]));
        Assert.False(_policy.Allows(_dir["root/escape/new/out"]));
        Assert.False(_policy.Allows(_dir["root/escape/*.txt"]));
    }

    [Fact]
    public void Allows_ASymlinkStayingInside_IsAllowed()
    {
        Directory.CreateSymbolicLink(_dir["root/alias"], _dir["root/data"]);
        Assert.True(_policy.Allows(_dir["root/alias/a.txt"]));
    }

    [Fact]
    public void Allows_ARootGivenThroughASymlink_AcceptsItsRealPaths()
    {
        Directory.CreateSymbolicLink(_dir["rootlink"], _dir["root"]);
        var policy = new RootPolicy([_dir["rootlink"]]);
        Assert.True(policy.Allows(_dir["root/data/a.txt"]));
        Assert.True(policy.Allows(_dir["rootlink/data/a.txt"]));
    }

    [Theory]
    [InlineData("s3://bucket/model.onnx")]
    [InlineData("https://example.com/model.onnx")]
    [InlineData("")]
    public void Allows_UrlsAndEmptyPaths_AreRefused(string path) => Assert.False(_policy.Allows(path));

    [Fact]
    public void Allows_TheServiceStateDirectory_IsRefused()
    {
        Assert.False(_policy.Allows(_dir["root/.state"]));
        Assert.False(_policy.Allows(_dir["root/.state/jobs.db"]));
        // Nor the root that holds it: a job writing there with mode overwrite would replace the history.
        Assert.False(_policy.Allows(_dir["root"]));
    }
}
