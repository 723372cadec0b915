using System.IO.Enumeration;
using System.Runtime.CompilerServices;
using Apache.Arrow;
using Sluice.Contracts;

namespace Sluice.IO.ObjectStorage;

/// <summary>
/// A dataset in object storage: <c>s3://bucket/prefix</c> (the objects directly under it), <c>s3://bucket/prefix/*.jsonl</c>
/// (a glob on the name), <c>s3://bucket/key</c> (one object) or <c>https://host/file</c> (one file, read-only). Each object
/// is one read task: when it starts, the object is downloaded (only while its ETag is the one listed, so an object
/// replaced mid-job is an error, not a silent mix) into a spool file, read by the format's own reader as a local file
/// would be (compression by extension included), and the spool file is deleted once read. Names starting with '_' or
/// '.' are metadata and skipped, as in a local directory.
/// </summary>
internal sealed class RemoteDatasource(string url, string expected, Func<string, Datasource> local, ObjectFileOptions options) : Datasource
{
    private IReadOnlyList<ListedObject>? _objects;

    public override string Name => $"{expected}({DatasetPaths.WithoutCredentials(url)})";

    public override async ValueTask<IReadOnlyList<ReadTask>> PlanAsync(CancellationToken cancellationToken)
    {
        var objects = await ListAsync(cancellationToken).ConfigureAwait(false);
        _objects = objects;
        return [.. objects.Select(o => new RemoteReadTask(o, local, options))];
    }

    public override DatasourceInputs? DescribeInputs()
    {
        var objects = _objects ?? ListAsync(CancellationToken.None).GetAwaiter().GetResult();
        return new DatasourceInputs([.. objects.Select(o => new InputFile(o.Url.ToString(), o.Length, o.LastModifiedUtc))], []);
    }

    public override SourceEstimate? Estimate()
    {
        var objects = _objects ?? ListAsync(CancellationToken.None).GetAwaiter().GetResult();
        return new SourceEstimate(objects.Sum(o => o.Length), null, objects.Count,
            $"one read task per object ({objects.Count}), each downloaded to a spool file when its task starts and deleted once read");
    }

    public override async ValueTask<Schema?> InferSchemaAsync(CancellationToken cancellationToken)
    {
        var objects = _objects ?? await ListAsync(cancellationToken).ConfigureAwait(false);
        if (objects.Count == 0) return null;
        using var spool = await Spool.FetchAsync(objects[0], options, cancellationToken).ConfigureAwait(false);
        return await local(spool.File).InferSchemaAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<ListedObject>> ListAsync(CancellationToken cancellationToken)
    {
        var parsed = new Uri(url);
        if (parsed.UserInfo.Length > 0)
            throw new BadInputException($"read.path '{DatasetPaths.WithoutCredentials(url)}': a URL must not carry credentials; give them in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
        if (parsed.Scheme != "s3")
        {
            var one = ObjectFiles.Parse(url);
            var head = await ObjectFiles.HeadAsync(one, options, cancellationToken).ConfigureAwait(false);
            return [new ListedObject(one, one.AbsolutePath, head.Length, head.ETag, DateTime.UnixEpoch)];
        }
        var bucket = parsed.Host;
        var path = Uri.UnescapeDataString(parsed.AbsolutePath.TrimStart('/'));
        if (bucket.Length == 0) throw new BadInputException($"read.path '{url}': give s3://bucket/prefix");
        using var store = new S3ObjectStore(options);
        var slash = path.LastIndexOf('/');
        var name = path[(slash + 1)..];
        var folder = slash < 0 ? "" : path[..(slash + 1)];
        if (name.AsSpan().IndexOfAny('*', '?') >= 0)
        {
            if (folder.AsSpan().IndexOfAny('*', '?') >= 0)
                throw new BadInputException($"read.path '{url}': wildcards are accepted only in the name part, not in the prefix");
            var matched = (await store.ListAsync(bucket, folder, cancellationToken).ConfigureAwait(false))
                .Where(o => Matches(name, o.Key[folder.Length..])).ToList();
            return matched.Count > 0 ? matched : throw new BadInputException($"read.path '{url}': no objects match; check the prefix and the pattern");
        }
        if (name.Length > 0)
        {
            // One object named exactly so, else a folder of that name.
            var exact = (await store.ListAsync(bucket, folder, cancellationToken).ConfigureAwait(false)).Where(o => o.Key == path).ToList();
            if (exact.Count == 1) return exact;
        }
        var prefix = path.Length == 0 || path.EndsWith('/') ? path : path + "/";
        var listed = (await store.ListAsync(bucket, prefix, cancellationToken).ConfigureAwait(false)).Where(o => Visible(o.Key[prefix.Length..])).ToList();
        return listed.Count > 0 ? listed
            : throw new BadInputException($"read.path '{url}': no object is named so and none lies under it; expected {expected} objects under s3://{bucket}/{prefix}");
    }

    private static bool Matches(string pattern, string name) =>
        name.Length > 0 && FileSystemName.MatchesSimpleExpression(pattern, name, ignoreCase: false) && (!Visible(pattern) || Visible(name));

    private static bool Visible(string name) => name.Length > 0 && !name.StartsWith('.') && !name.StartsWith('_');

    /// <summary>One object, read through a spool file.</summary>
    private sealed class RemoteReadTask(ListedObject obj, Func<string, Datasource> local, ObjectFileOptions options) : ReadTask
    {
        public override string Id => obj.Url.ToString();

        public override async IAsyncEnumerable<RecordBatch> ReadAsync(int blockRows, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            using var spool = await Spool.FetchAsync(obj, options, cancellationToken).ConfigureAwait(false);
            var source = local(spool.File);
            IReadOnlyList<ReadTask> tasks;
            try
            {
                tasks = await source.PlanAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (BadInputException e)
            {
                throw spool.Relocate(e);
            }
            foreach (var task in tasks)
            {
                var batches = task.ReadAsync(blockRows, cancellationToken).GetAsyncEnumerator(cancellationToken);
                await using var _ = batches.ConfigureAwait(false);
                while (true)
                {
                    try
                    {
                        if (!await batches.MoveNextAsync().ConfigureAwait(false)) break;
                    }
                    catch (BadInputException e)
                    {
                        throw spool.Relocate(e);
                    }
                    yield return batches.Current;
                }
            }
        }
    }

    /// <summary>A downloaded object in a private folder of the cache, deleted on dispose.</summary>
    private sealed class Spool : IDisposable
    {
        private readonly string _dir;
        private readonly ListedObject _obj;

        private Spool(string dir, ListedObject obj)
        {
            _dir = dir;
            _obj = obj;
            File = Path.Combine(dir, Path.GetFileName(obj.Key.TrimEnd('/')) is { Length: > 0 } n ? n : "object");
        }

        public string File { get; }

        public static async Task<Spool> FetchAsync(ListedObject obj, ObjectFileOptions options, CancellationToken cancellationToken)
        {
            var spool = new Spool(Path.Combine(Path.GetFullPath(options.CacheDirectory), "spool", Guid.NewGuid().ToString("N")), obj);
            Directory.CreateDirectory(spool._dir);
            try
            {
                var stream = new FileStream(spool.File, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous);
                await using (stream.ConfigureAwait(false))
                {
                    if (obj.Url.Scheme == "s3")
                    {
                        using var store = new S3ObjectStore(options);
                        await store.GetIfMatchAsync(obj.Url, obj.ETag, stream, cancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        using var store = new HttpObjectStore();
                        var got = await store.GetAsync(obj.Url, stream, cancellationToken).ConfigureAwait(false);
                        if (obj.ETag is not null && got.ETag is not null && got.ETag != obj.ETag)
                            throw new ObjectFileException($"{ObjectFiles.Display(obj.Url)}: the file changed after the job listed it (ETag {obj.ETag} became {got.ETag}); run the job again on a stable input");
                    }
                }
                return spool;
            }
            catch
            {
                spool.Dispose();
                throw;
            }
        }

        /// <summary>The reader's error about the spool file, said of the object it came from.</summary>
        public BadInputException Relocate(BadInputException e) =>
            new(e.Message.Replace(File, ObjectFiles.Display(_obj.Url), StringComparison.Ordinal), e);

        public void Dispose()
        {
            try
            {
                Directory.Delete(_dir, recursive: true);
            }
            catch (IOException)
            {
                // A spool left behind is only disk: the next run's folder is another.
            }
        }
    }
}
