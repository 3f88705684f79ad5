// Muster's progressive enhancement. Every page works without it.
import { initAll } from '/assets/govuk-frontend.min.js'

document.body.classList.add('js-enabled', 'govuk-frontend-supported')
initAll()

// Typeahead: fill a <datalist> from /v1/suggest as the user types.
for (const input of document.querySelectorAll('input[data-suggest]')) {
  const list = document.getElementById(input.getAttribute('list'))
  let timer
  input.addEventListener('input', () => {
    clearTimeout(timer)
    timer = setTimeout(async () => {
      const q = input.value.trim()
      if (!q || !list) return
      const response = await fetch('/v1/suggest?limit=8&q=' + encodeURIComponent(q), {
        credentials: 'same-origin'
      })
      if (!response.ok) return
      const answer = await response.json()
      list.replaceChildren(
        ...answer.suggestions.map((s) => {
          const option = document.createElement('option')
          option.value = s.text
          return option
        })
      )
    }, 120)
  })
}

// Filters: a change to a facet updates the results and counts in place, without a reload.
const form = document.querySelector('form[data-live-filters]')
if (form) {
  const status = document.getElementById('results-status')
  form.addEventListener('change', async (event) => {
    if (!event.target.matches('input[type=checkbox], select')) return
    const params = new URLSearchParams(new FormData(form))
    params.delete('page')
    for (const [key, value] of [...params]) if (value === '') params.delete(key, value)
    const url = form.getAttribute('action') + '?' + params.toString()
    const response = await fetch(url, { credentials: 'same-origin' })
    const page = new DOMParser().parseFromString(await response.text(), 'text/html')
    const results = page.getElementById('results')
    if (!results) {
      window.location.assign(url)
      return
    }
    document.getElementById('results').replaceWith(results)
    for (const count of page.querySelectorAll('[data-count-for]')) {
      const mine = document.querySelector(
        `[data-count-for="${CSS.escape(count.dataset.countFor)}"]`
      )
      if (mine) mine.textContent = count.textContent
    }
    history.replaceState(null, '', url)
    if (status) status.textContent = results.dataset.summary || ''
  })
}
