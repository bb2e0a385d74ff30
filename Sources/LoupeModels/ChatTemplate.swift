import Foundation

/// A chat template: the Jinja program a model ships to turn a conversation into its prompt text.
///
/// Templates are rendered the way Hugging Face's `apply_chat_template` renders them: jinja2 with `trim_blocks` and
/// `lstrip_blocks`, `tojson` as `json.dumps(ensure_ascii=False)`, and the globals `raise_exception`, `namespace`,
/// `range`. The interpreter covers the Jinja the shipped and common templates use (ChatML/SmolLM2, Gemma, LLaMA-3,
/// Qwen2/3, Phi-3, Command-R...): `for` (with `loop.*`, `else`, filters, unpacking), `if/elif/else`, `set` (names,
/// namespace attributes, blocks), `macro`, expressions with Python semantics, filters (`trim`, `length`, `upper`,
/// `lower`, `tojson`, `default`, `join`, `replace`, `map`, `selectattr`, ...), tests (`is defined`, `is string`,
/// ...), and string methods (`strip`, `startswith`, `split`, ...). Errors carry the line and column in the source.
public struct ChatTemplate: @unchecked Sendable {
    /// The template's source text.
    public let source: String
    private let nodes: [JinjaNode]

    /// Parses `source`. Throws `ChatTemplateError` (with the line and column) on a syntax error.
    public init(source: String) throws {
        self.source = source
        var parser = try JinjaParser(source: source)
        nodes = try parser.parseBlock(until: []).nodes
    }

    /// Renders a conversation.
    /// - Parameters:
    ///   - messages: the turns, each with at least `role` and `content`.
    ///   - addGenerationPrompt: end with the header of an assistant turn, so the model writes the reply.
    ///   - bosToken, eosToken: the texts of the model's BOS / EOS tokens (templates print them).
    ///   - variables: further template variables (strings), e.g. `["date_string": "26 Jul 2024"]`.
    /// - Throws: `ChatTemplateError` when the template fails (including its own `raise_exception`).
    public func render(messages: [[String: String]], addGenerationPrompt: Bool, bosToken: String = "",
                       eosToken: String = "", variables: [String: String] = [:]) throws -> String {
        var globals = JinjaBuiltins.globals
        globals["messages"] = .array(messages.map { m in
            // Keep role and content first, as the dicts a Python caller writes would have them.
            var d = JinjaDict()
            for k in ["role", "content"] where m[k] != nil { d[k] = .string(m[k]!) }
            for k in m.keys.sorted() where d[k] == nil { d[k] = .string(m[k]!) }
            return .dict(d)
        })
        globals["add_generation_prompt"] = .bool(addGenerationPrompt)
        globals["bos_token"] = .string(bosToken)
        globals["eos_token"] = .string(eosToken)
        for (k, v) in variables { globals[k] = .string(v) }
        let interp = JinjaInterpreter(source: Array(source), globals: globals)
        return try interp.render(nodes)
    }

    /// Gemma's chat template (as in the instruction-tuned Gemma 3 models' `tokenizer_config.json`), for Gemma files
    /// that carry none (the base `gemma-3-270m` GGUF has no `tokenizer.chat_template`). Turns are
    /// `<start_of_turn>user\n...<end_of_turn>\n`, the assistant's role is written `model`, and a system message is
    /// folded into the first user turn.
    public static let gemma: ChatTemplate = try! ChatTemplate(source: gemmaSource)

    /// ChatML (`<|im_start|>role\ncontent<|im_end|>\n`), as Qwen and SmolLM use without a default system prompt.
    public static let chatML: ChatTemplate = try! ChatTemplate(source: chatMLSource)

    /// A built-in template by name: `gemma`, `chatml`.
    public static func builtin(named name: String) -> ChatTemplate? {
        switch name.lowercased() {
        case "gemma", "gemma3": return gemma
        case "chatml": return chatML
        default: return nil
        }
    }

    static let chatMLSource = """
        {%- for message in messages -%}
        {{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' -}}
        {%- endfor -%}
        {%- if add_generation_prompt -%}
        {{- '<|im_start|>assistant\\n' -}}
        {%- endif -%}
        """

    static let gemmaSource = """
        {{ bos_token }}
        {%- if messages[0]['role'] == 'system' -%}
            {%- if messages[0]['content'] is string -%}
                {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}
            {%- else -%}
                {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\\n\\n' -%}
            {%- endif -%}
            {%- set loop_messages = messages[1:] -%}
        {%- else -%}
            {%- set first_user_prefix = "" -%}
            {%- set loop_messages = messages -%}
        {%- endif -%}
        {%- for message in loop_messages -%}
            {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
                {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
            {%- endif -%}
            {%- if (message['role'] == 'assistant') -%}
                {%- set role = "model" -%}
            {%- else -%}
                {%- set role = message['role'] -%}
            {%- endif -%}
            {{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else "") }}
            {%- if message['content'] is string -%}
                {{ message['content'] | trim }}
            {%- elif message['content'] is iterable -%}
                {%- for item in message['content'] -%}
                    {%- if item['type'] == 'image' -%}
                        {{ '<start_of_image>' }}
                    {%- elif item['type'] == 'text' -%}
                        {{ item['text'] | trim }}
                    {%- endif -%}
                {%- endfor -%}
            {%- else -%}
                {{ raise_exception("Invalid content type") }}
            {%- endif -%}
            {{ '<end_of_turn>\\n' }}
        {%- endfor -%}
        {%- if add_generation_prompt -%}
            {{'<start_of_turn>model\\n'}}
        {%- endif -%}

        """
}
