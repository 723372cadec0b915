using Apache.Arrow;

namespace Sluice.IO.Tests;

/// <summary>OpenAI Batch API request files read as rows; a request the API would refuse is refused here, naming the file, line and field.</summary>
public sealed class OpenAiBatchTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<List<RecordBatch>> ReadAsync(params string[] lines)
    {
        var path = _dir.File("batch.jsonl");
        await File.WriteAllLinesAsync(path, lines);
        var batches = new List<RecordBatch>();
        foreach (var task in await Sources.OpenAiBatch(path).PlanAsync(CancellationToken.None))
            await foreach (var b in task.ReadAsync(100, CancellationToken.None)) batches.Add(b);
        return batches;
    }

    [Fact]
    public async Task Read_EmbeddingsCompletionsAndChat_RowsCarryIdUrlModelBodyAndText()
    {
        var batch = Assert.Single(await ReadAsync(
            """{"custom_id": "a", "method": "POST", "url": "/v1/embeddings", "body": {"model": "m1", "input": "hello"}}""",
            "",
            """{"custom_id": "b", "method": "POST", "url": "/v1/completions", "body": {"model": "m2", "prompt": "once upon"}}""",
            """{"custom_id": "c", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m3", "messages": [{"role": "user", "content": "hi"}]}}"""));
        Assert.Equal(3, batch.Length);
        var ids = (StringArray)batch.Column("custom_id");
        var text = (StringArray)batch.Column("text");
        var model = (StringArray)batch.Column("model");
        Assert.Equal(["a", "b", "c"], Enumerable.Range(0, 3).Select(i => ids.GetString(i)));
        Assert.Equal("hello", text.GetString(0));
        Assert.Equal("once upon", text.GetString(1));
        Assert.True(text.IsNull(2));
        Assert.Equal("m3", model.GetString(2));
        Assert.Contains("\"messages\"", ((StringArray)batch.Column("body")).GetString(2), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_CompletionLimits_AreNullableColumns_StopAlwaysAList()
    {
        var batch = Assert.Single(await ReadAsync(
            """{"custom_id": "a", "url": "/v1/completions", "body": {"prompt": "p", "max_tokens": 7, "stop": "\n", "temperature": 0.5, "seed": 42}}""",
            """{"custom_id": "b", "url": "/v1/chat/completions", "body": {"messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 3, "stop": ["x", "yz"], "n": 1}}""",
            """{"custom_id": "c", "url": "/v1/completions", "body": {"prompt": "p", "max_tokens": null, "stop": null}}""",
            """{"custom_id": "d", "url": "/v1/embeddings", "body": {"input": "e"}}"""));
        var max = (Int32Array)batch.Column("max_tokens");
        var stop = (ListArray)batch.Column("stop");
        var temperature = (DoubleArray)batch.Column("temperature");
        var seed = (Int64Array)batch.Column("seed");
        List<string>? Stops(int row) => stop.IsNull(row) ? null : [.. Enumerable.Range(0, ((StringArray)stop.GetSlicedValues(row)).Length).Select(i => ((StringArray)stop.GetSlicedValues(row)).GetString(i))];

        Assert.Equal([7, 3, null, null], Enumerable.Range(0, 4).Select(i => max.GetValue(i)));
        Assert.Equal(["\n"], Stops(0));
        Assert.Equal(["x", "yz"], Stops(1));
        Assert.Null(Stops(2));
        Assert.Null(Stops(3));
        Assert.Equal([0.5, null, null, null], Enumerable.Range(0, 4).Select(i => temperature.GetValue(i)));
        Assert.Equal([42L, null, null, null], Enumerable.Range(0, 4).Select(i => seed.GetValue(i)));
        Assert.True(batch.Schema.GetFieldByName("max_tokens").IsNullable);
    }

    [Theory]
    [InlineData("""{"custom_id": "a", "url": "/v1/completions", "body": {"prompt": "p", "max_tokens": 0}}""", "field 'body.max_tokens' is 0; give a whole number from 1 to 2147483647")]
    [InlineData("""{"custom_id": "a", "url": "/v1/completions", "body": {"prompt": "p", "max_tokens": 2.5}}""", "field 'body.max_tokens' is 2.5; give a whole number")]
    [InlineData("""{"custom_id": "a", "url": "/v1/completions", "body": {"prompt": "p", "max_tokens": "10"}}""", "field 'body.max_tokens' is \"10\"; give a whole number")]
    [InlineData("""{"custom_id": "a", "url": "/v1/chat/completions", "body": {"messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 99999999999}}""", "field 'body.max_completion_tokens' is 99999999999; give a whole number from 1")]
    [InlineData("""{"custom_id": "a", "url": "/v1/completions", "body": {"prompt": "p", "max_tokens": 5, "max_completion_tokens": 6}}""", "body.max_tokens is 5 and body.max_completion_tokens is 6; give one of them")]
    [InlineData("""{"custom_id": "a", "url": "/v1/completions", "body": {"prompt": "p", "stop": ["a", "b", "c", "d", "e"]}}""", "field 'body.stop' is [\"a\", \"b\", \"c\", \"d\", \"e\"]; give a non-empty string or a list of up to 4")]
    [InlineData("""{"custom_id": "a", "url": "/v1/completions", "body": {"prompt": "p", "stop": [1]}}""", "field 'body.stop' is [1]; give a non-empty string")]
    [InlineData("""{"custom_id": "a", "url": "/v1/completions", "body": {"prompt": "p", "stop": ""}}""", "field 'body.stop' holds an empty string")]
    [InlineData("""{"custom_id": "a", "url": "/v1/completions", "body": {"prompt": "p", "temperature": 2.5}}""", "field 'body.temperature' is 2.5; give a number from 0 to 2")]
    [InlineData("""{"custom_id": "a", "url": "/v1/completions", "body": {"prompt": "p", "seed": "x"}}""", "field 'body.seed' is \"x\"; give a whole number")]
    [InlineData("""{"custom_id": "a", "url": "/v1/completions", "body": {"prompt": "p", "n": 2}}""", "field 'body.n' is 2; Sluice answers one choice per request")]
    public async Task Read_CompletionLimitOutOfRange_NamesFileLineFieldAndWhatIsAccepted(string line, string says)
    {
        var e = await Assert.ThrowsAsync<BadInputException>(() => ReadAsync(
            """{"custom_id": "ok", "url": "/v1/completions", "body": {"prompt": "fine", "max_tokens": 4}}""", line));
        Assert.Contains("batch.jsonl line 2: ", e.Message, StringComparison.Ordinal);
        Assert.Contains(says, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"custom_id": "a", "method": "POST", "url": "/v1/images", "body": {}}""", "field 'url' is '/v1/images'; accepted: /v1/embeddings")]
    [InlineData("""{"custom_id": "a", "method": "GET", "url": "/v1/embeddings", "body": {"input": "x"}}""", "the Batch API accepts \"POST\"")]
    [InlineData("""{"method": "POST", "url": "/v1/embeddings", "body": {"input": "x"}}""", "field 'custom_id' is missing")]
    [InlineData("""{"custom_id": "a", "url": "/v1/embeddings", "body": {"input": ["x", "y"]}}""", "body.input is an array; give one input string per request line")]
    [InlineData("""{"custom_id": "a", "url": "/v1/embeddings", "body": {"input": "x", "encoding_format": "base64"}}""", "encoding_format is 'base64'")]
    [InlineData("""{"custom_id": "a", "url": "/v1/chat/completions", "body": {"model": "m"}}""", "body.messages is missing or empty")]
    [InlineData("""{"custom_id": "a", "url": "/v1/embeddings" """, "not valid JSON")]
    public async Task Read_RequestTheApiWouldRefuse_IsALocatedError(string line, string says)
    {
        var e = await Assert.ThrowsAsync<BadInputException>(() => ReadAsync(
            """{"custom_id": "ok", "url": "/v1/embeddings", "body": {"input": "fine"}}""", line));
        Assert.Contains("batch.jsonl line 2", e.Message, StringComparison.Ordinal);
        Assert.Contains(says, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_DuplicateCustomId_NamesBothLines()
    {
        var e = await Assert.ThrowsAsync<BadInputException>(() => ReadAsync(
            """{"custom_id": "x", "url": "/v1/embeddings", "body": {"input": "one"}}""",
            """{"custom_id": "y", "url": "/v1/embeddings", "body": {"input": "two"}}""",
            """{"custom_id": "x", "url": "/v1/embeddings", "body": {"input": "three"}}"""));
        Assert.Contains("line 3: custom_id 'x' was already used on line 1", e.Message, StringComparison.Ordinal);
    }
}
