using Sluice.IO.ObjectStorage;
using YamlDotNet.RepresentationModel;

namespace Sluice.Jobs;

/// <summary>Job files given as URLs: fetched by the driver while the spec binds (a cluster's workers then get them by shipping).</summary>
public sealed partial class SpecContext
{
    private readonly List<SpecObjectFile> _objectFiles = [];
    private readonly Dictionary<string, YamlNode> _notFetched = new(StringComparer.Ordinal);

    /// <summary>Where fetched objects are cached and which S3 endpoint to ask.</summary>
    public ObjectFileOptions ObjectFileOptions { get; internal init; } = new();

    /// <summary>The job files the spec gives as URLs, in the order bound.</summary>
    internal IReadOnlyList<SpecObjectFile> ObjectFiles => _objectFiles;

    /// <summary>
    /// The value a job file given as <paramref name="url"/> binds as: the local copy (fetched now unless the cache holds
    /// this version). Without <see cref="Prepare"/> (<c>explain</c>) the object is only asked about (HEAD): the cached copy
    /// when there is one, else the URL itself, which <see cref="IsNotFetched"/> then knows. Null, with an error naming
    /// <paramref name="field"/> and the URL, when the URL is refused or the object cannot be read.
    /// </summary>
    internal string? ObjectFile(YamlNode node, string field, string url)
    {
        try
        {
            var parsed = Sluice.IO.ObjectStorage.ObjectFiles.Parse(url);
            if (Prepare) return Fetch(field, parsed);
            // Binding is synchronous: a spec binds once, before the job starts, on a thread with no synchronization
            // context, so blocking on the request cannot deadlock, and the op's checks that follow need its answer.
            var info = Sluice.IO.ObjectStorage.ObjectFiles.HeadAsync(parsed, ObjectFileOptions).GetAwaiter().GetResult();
            _objectFiles.Add(new SpecObjectFile(field, parsed, info.Length, info.CachedPath));
            if (info.CachedPath is not null) return info.CachedPath;
            _notFetched[url] = node;
            return url;
        }
        catch (ObjectFileException e)
        {
            // The value is left out: the message names the URL as it may be shown (never credentials, nor a signature).
            Error(node, field, null, e.Message);
            return null;
        }
    }

    /// <summary>Whether <paramref name="value"/> is a URL that <c>explain</c> asked about but did not download (the op cannot open it).</summary>
    internal bool IsNotFetched(string value) => _notFetched.ContainsKey(value);

    /// <summary>
    /// The local copy of a job file, downloading it now if <c>explain</c> left it remote: for an op that must read the
    /// file to plan (a partitioned model's graph). Null, with an error, when it cannot be read.
    /// </summary>
    internal string? Local(string value, string field)
    {
        if (!_notFetched.TryGetValue(value, out var node)) return value;
        try
        {
            var parsed = Sluice.IO.ObjectStorage.ObjectFiles.Parse(value);
            _objectFiles.RemoveAll(f => f.Field == field);
            return Fetch(field, parsed);
        }
        catch (ObjectFileException e)
        {
            Error(node, field, null, e.Message);
            return null;
        }
    }

    private string Fetch(string field, Uri url)
    {
        // Blocking as above; a model of gigabytes is downloaded here once, and later runs reuse the cached copy.
        var local = Sluice.IO.ObjectStorage.ObjectFiles.FetchAsync(url, ObjectFileOptions).GetAwaiter().GetResult();
        _objectFiles.Add(new SpecObjectFile(field, url, new FileInfo(local).Length, local));
        return local;
    }
}
