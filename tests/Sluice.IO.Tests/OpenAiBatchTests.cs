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
