using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Contracts;
using Sluice.IO.Files;

namespace Sluice.IO.OpenAiBatch;

/// <summary>
/// OpenAI Batch API input files (JSON Lines of <c>{custom_id, method, url, body}</c>), so an existing batch file runs
/// unchanged: each request is a row with <c>custom_id</c>, <c>url</c>, <c>model</c>, the raw <c>body</c> (JSON) and
/// <c>text</c> — the embedding input or completion prompt (null for chat requests, whose <c>messages</c> stay in body) —,
/// and what a (chat) completion asks of its own generation, null where the body does not say (and for embeddings):
/// <c>max_tokens</c> (int32; from <c>max_tokens</c> or <c>max_completion_tokens</c>), <c>stop</c> (a list of strings; a
/// single string becomes a list of one), <c>temperature</c> (double) and <c>seed</c> (int64). <c>op: generate</c> honours
/// a row's max_tokens and stop (<see cref="OpenAiRequestLimits"/>).
/// </summary>
internal sealed class OpenAiBatchDatasource : Datasource
{
    internal static readonly Schema RequestSchema = new(
    [
        new Field("custom_id", StringType.Default, nullable: false),
        new Field("url", StringType.Default, nullable: false),
        new Field("model", StringType.Default, nullable: true),
        new Field("body", StringType.Default, nullable: false),
        new Field("text", StringType.Default, nullable: true),
        new Field("max_tokens", Int32Type.Default, nullable: true),
        new Field("stop", new ListType(StringType.Default), nullable: true),
        new Field("temperature", DoubleType.Default, nullable: true),
        new Field("seed", Int64Type.Default, nullable: true),
    ], null);

    private readonly InvalidUtf8Tally _invalid = new();
    private readonly string _path;
    private readonly OpenAiBatchOptions _options;
    private IReadOnlyList<string>? _files;

    public OpenAiBatchDatasource(string path, OpenAiBatchOptions options)
    {
        if (options.SplitBytes < 1) throw new SluiceException($"OpenAiBatchOptions.SplitBytes is {options.SplitBytes}; give 1 or more bytes per read task");
        _path = path;
        _options = options;
    }

    public override string Name => $"openai_batch({_path})";

    public override DatasourceInputs? DescribeInputs() => FileLister.Describe(_path, _files ?? FileLister.Expand(_path, "OpenAI batch (JSON Lines)"));

    public override IReadOnlyList<SourceWarning> Warnings => _invalid.Warnings;

    public override SourceEstimate? Estimate() => LineSplits.Estimate(FileLister.Expand(_path, "OpenAI batch (JSON Lines)"), _options.SplitBytes);

    public override ValueTask<IReadOnlyList<ReadTask>> PlanAsync(CancellationToken cancellationToken)
    {
        var files = FileLister.Expand(_path, "OpenAI batch (JSON Lines)");
        _files = files;
        _invalid.Reset();
        var tasks = new List<ReadTask>();
        foreach (var file in files)
        {
            if (LineSplits.Of(file, new FileInfo(file).Length, _options.SplitBytes) is { } ranges)
                tasks.AddRange(ranges.Select(r => new OpenAiBatchReadTask(file, r, _options, _invalid)));
            else
                tasks.Add(new OpenAiBatchReadTask(file, null, _options, _invalid));
        }
        return ValueTask.FromResult<IReadOnlyList<ReadTask>>(tasks);
    }

    public override ValueTask<Schema?> InferSchemaAsync(CancellationToken cancellationToken) => ValueTask.FromResult<Schema?>(RequestSchema);
}
