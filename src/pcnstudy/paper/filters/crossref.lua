--[[ Quarto-style cross-references for plain pandoc: figures `{#fig-x}`, tables
`{#tbl-x}`, cited as `@fig-x` / `@tbl-x`.

HTML (and any format but Typst): figures and tables are numbered in document order,
their captions start "Figure N: " / "Table N: ", and each citation becomes a link
"Figure N" to the element. Typst numbers figures itself, so there a citation becomes
`#ref(<label>)`. Run before --citeproc so that citeproc sees only bibliography keys.
An @fig-/@tbl- citation of a label that does not exist stops the render.
--]]

local KINDS = { fig = "Figure", tbl = "Table" }
local numbers = {}
local typst = FORMAT:match("typst") ~= nil

local function kind_of(id)
  local prefix = id and id:match("^(%a+)%-")
  return prefix and KINDS[prefix] and prefix or nil
end

local function prefix_caption(el, label)
  local lead = pandoc.Inlines({ pandoc.Str(label .. ":"), pandoc.Space() })
  local caption = el.caption.long
  if #caption > 0 and (caption[1].t == "Plain" or caption[1].t == "Para") then
    caption[1].content = lead .. caption[1].content
  else
    caption:insert(1, pandoc.Plain(lead))
  end
  el.caption.long = caption
  return el
end

local function number(el)
  local kind = kind_of(el.identifier)
  if not kind then return nil end
  local count = 1
  for _, k in pairs(numbers) do
    if k.kind == kind then count = count + 1 end
  end
  local label = KINDS[kind] .. " " .. count
  numbers[el.identifier] = { kind = kind, label = label }
  if typst then return nil end
  return prefix_caption(el, label)
end

local function resolve(cite)
  local out = pandoc.Inlines({})
  local rest = {}
  for _, c in ipairs(cite.citations) do
    local kind = kind_of(c.id)
    if kind then
      local target = numbers[c.id]
      if target == nil then
        error("crossref: @" .. c.id .. " refers to no figure or table")
      end
      if #out > 0 then out:insert(pandoc.Str(",")); out:insert(pandoc.Space()) end
      if typst then
        out:insert(pandoc.RawInline("typst", "#ref(<" .. c.id .. ">)"))
      else
        out:insert(pandoc.Link(target.label, "#" .. c.id))
      end
    else
      table.insert(rest, c)
    end
  end
  if #out == 0 then return nil end
  if #rest > 0 then
    out:insert(pandoc.Space())
    out:insert(pandoc.Cite({}, rest))
  end
  return out
end

return {
  { Figure = number, Table = number },
  { Cite = resolve },
}
