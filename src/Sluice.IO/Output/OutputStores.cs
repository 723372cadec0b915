using Sluice.IO.ObjectStorage;

namespace Sluice.IO.Output;

/// <summary>Which store an output path names: <c>s3://</c> is an S3 prefix, anything else a local directory (other URLs are refused earlier, by <see cref="DatasetPaths"/>).</summary>
internal static class OutputStores
{
    public static IOutputStore For(string path, FileSinkOptions options)
    {
        DatasetPaths.RefuseUrl(path, "write.path");
        return path.StartsWith("s3://", StringComparison.OrdinalIgnoreCase)
            ? new S3OutputStore(path, options.ObjectStorage ?? new ObjectFileOptions())
            : new LocalOutputStore(path);
    }
}
