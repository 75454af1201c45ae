--[[ Quarto's {{< include file >}} and {{< var key >}} shortcodes for plain pandoc.

include: a paragraph holding only `{{< include path >}}` is replaced by the blocks of
that file (read as the same markdown, path relative to the including file's folder,
includes nested in it, or in a fenced div such as a conditional block, expanded too).
var: `{{< var a.b.c >}}` anywhere in running text is replaced by the value at that
dotted key of _variables.yml, found beside the input file. A key that is missing
stops the render with an error naming the key, as a hand-typed gap must never reach
a reader.
conditional content: divs and spans of class `content-visible` or `content-hidden`
with `when-meta`/`unless-meta` (a metadata key, dotted for nested keys, that is
true or a non-empty string other than "false") and `when-format`/`unless-format`
are kept or dropped as Quarto does; the paper stage writes the flags to _study.yml,
read as metadata.
--]]

local stringify = pandoc.utils.stringify

local function input_dir()
  local first = PANDOC_STATE.input_files[1]
  if first == nil or first == "-" then return "." end
  return pandoc.path.directory(first)
end

local function read_file(path)
  local fh = io.open(path, "r")
  if fh == nil then return nil end
  local text = fh:read("a")
  fh:close()
  return text
end

-- include -------------------------------------------------------------------

local function include_target(para)
  local text = stringify(para)
  return text:match("^{{<%s*include%s+(%S+)%s*>}}$")
end

local function expand_includes(blocks, base)
  local out = pandoc.Blocks({})
  for _, block in ipairs(blocks) do
    local target = (block.t == "Para" or block.t == "Plain") and include_target(block)
    if target then
      local path = pandoc.path.join({ base, target })
      local text = read_file(path)
      if text == nil then
        error("include: cannot read " .. path)
      end
      local doc = pandoc.read(text, "markdown", PANDOC_READER_OPTIONS)
      out:extend(expand_includes(doc.blocks, pandoc.path.directory(path)))
    elseif block.t == "Div" then
      -- Quarto expands includes anywhere, a conditional block's among them
      block.content = expand_includes(block.content, base)
      out:insert(block)
    else
      out:insert(block)
    end
  end
  return out
end

-- var -----------------------------------------------------------------------

local variables = nil

local function flatten(value, prefix, into)
  local kind = pandoc.utils.type(value)
  if kind == "table" or kind == "Meta" then
    for key, item in pairs(value) do
      local name = prefix == "" and tostring(key) or (prefix .. "." .. tostring(key))
      flatten(item, name, into)
    end
  elseif kind == "List" then
    for i, item in ipairs(value) do
      flatten(item, prefix .. "." .. tostring(i - 1), into)
    end
  else
    into[prefix] = stringify(value)
  end
  return into
end

local function load_variables()
  if variables then return variables end
  local path = pandoc.path.join({ input_dir(), "_variables.yml" })
  local text = read_file(path)
  variables = {}
  if text then
    local meta = pandoc.read("---\n" .. text .. "\n---\n", "markdown").meta
    flatten(meta, "", variables)
  end
  return variables
end

local function lookup(key)
  local value = load_variables()[key]
  if value == nil then
    error("var: no key '" .. key .. "' in _variables.yml")
  end
  return value
end

local function is_gap(el)
  return el and (el.t == "Space" or el.t == "SoftBreak")
end

-- Replace the run Str "..{{<" gap Str "var" gap Str key gap Str ">}}.." by the value.
local function replace_vars(inlines)
  local out = pandoc.Inlines({})
  local i = 1
  while i <= #inlines do
    local el = inlines[i]
    local prefix = el.t == "Str" and el.text:match("^(.-){{<$")
    local kw, key, close = inlines[i + 2], inlines[i + 4], inlines[i + 6]
    if prefix and is_gap(inlines[i + 1]) and kw and kw.t == "Str" and kw.text == "var"
        and is_gap(inlines[i + 3]) and key and key.t == "Str" and is_gap(inlines[i + 5])
        and close and close.t == "Str" and close.text:match("^>}}") then
      local suffix = close.text:sub(4)
      out:insert(pandoc.Str(prefix .. lookup(key.text) .. suffix))
      i = i + 7
    else
      out:insert(el)
      i = i + 1
    end
  end
  return out
end

-- conditional content ------------------------------------------------------

local function meta_value(meta, key)
  local node = meta
  for part in key:gmatch("[^.]+") do
    if node == nil or type(node) ~= "table" then return nil end
    node = node[part]
  end
  return node
end

local function truthy(value)
  if value == nil then return false end
  if type(value) == "boolean" then return value end
  local text = stringify(value)
  return text ~= "" and text ~= "false"
end

local FORMAT_ALIASES = { pdf = { "pdf", "latex", "typst" }, html = { "html", "html4", "html5" } }

local function format_matches(name)
  for _, alias in ipairs(FORMAT_ALIASES[name] or { name }) do
    if FORMAT == alias or FORMAT:match("^" .. alias) then return true end
  end
  return false
end

-- true when the element's conditions hold (all of the given ones).
local function conditions_hold(attr, meta)
  local ok = true
  local when_meta, unless_meta = attr.attributes["when-meta"], attr.attributes["unless-meta"]
  local when_format, unless_format = attr.attributes["when-format"], attr.attributes["unless-format"]
  if when_meta then ok = ok and truthy(meta_value(meta, when_meta)) end
  if unless_meta then ok = ok and not truthy(meta_value(meta, unless_meta)) end
  if when_format then ok = ok and format_matches(when_format) end
  if unless_format then ok = ok and not format_matches(unless_format) end
  return ok
end

local function conditional(meta)
  local function decide(el)
    local visible = el.classes:includes("content-visible")
    local hidden = el.classes:includes("content-hidden")
    if not (visible or hidden) then return nil end
    local hold = conditions_hold(el.attr, meta)
    if (visible and hold) or (hidden and not hold) then
      return el.content
    end
    return {}
  end
  return { Div = decide, Span = decide }
end

return {
  {
    Pandoc = function(doc)
      doc.blocks = expand_includes(doc.blocks, input_dir())
      return doc:walk(conditional(doc.meta))
    end,
  },
  { Inlines = replace_vars },
}
