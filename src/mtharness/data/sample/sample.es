Llovió toda la mañana, pero el sol salió después de comer.
El pronóstico dice que mañana hará frío y mucho viento.
Nos quedamos dentro porque había demasiada nieve para caminar.
Llévate un paraguas, porque el cielo está muy oscuro.
Anoche el viento derribó dos árboles cerca de la escuela.
¿Va a hacer sol el sábado?
La niebla era tan espesa que no podíamos ver el puente.
Después de la tormenta, las calles estaban llenas de hojas y ramas rotas.
Este año la primavera llegó pronto, y los jardines ya están verdes.
Nuestro tren sale a las siete y media, así que tenemos que levantarnos temprano.
La habitación del hotel era pequeña, pero muy limpia.
¿Podría decirme dónde está la estación de autobuses?
Perdimos el mapa, así que le pedimos indicaciones a una mujer.
El vuelo se retrasó tres horas a causa del mal tiempo.
Mi hermana prefiere viajar en tren porque puede leer durante el trayecto.
Por favor, muestre su pasaporte y su billete en la puerta de embarque.
La ciudad antigua tiene calles estrechas y muchas iglesias pequeñas.
Alquilamos un coche y recorrimos la costa durante dos días.
El museo cierra los lunes, así que fuimos al parque.
¿Cuánto cuesta un billete al aeropuerto?
Siempre me olvido de algo cuando hago la maleta.
Corta las cebollas en trozos pequeños y fríelas a fuego lento.
Mi abuela hace la mejor tarta de manzana de la familia.
Añade un poco de sal al agua antes de cocer el arroz.
A la sopa le falta tiempo, así que déjala hervir diez minutos.
Normalmente cenamos a las nueve de la noche.
Lava bien las verduras antes de ponerlas en la ensalada.
Se le quemó el pan porque estaba hablando por teléfono.
Esta receta es fácil y solo lleva veinte minutos.
¿Quieres té o café con el desayuno?
La cocina huele a pan recién hecho y a chocolate caliente.
El mercado abre temprano, y la fruta es más barata por la mañana.
Me compré una camisa azul y un par de zapatos negros.
La tienda de la esquina vende periódicos, leche y pan.
Perdone, ¿tiene esta chaqueta en una talla más grande?
Ella siempre paga en efectivo porque no se fía de las tarjetas.
El nuevo supermercado tiene un gran aparcamiento detrás del edificio.
Estas manzanas cuestan dos euros el kilo.
Tenemos que comprar huevos, mantequilla y una botella de aceite.
Los zapatos estaban rebajados, así que compré dos pares.
Guarda el recibo por si quieres devolver el regalo.
El médico me dijo que bebiera más agua y que durmiera más.
Mi hermano se rompió el brazo mientras jugaba al fútbol.
Si tienes fiebre, deberías quedarte en casa y descansar.
La farmacia que está cerca del hospital abre toda la noche.
Caminar treinta minutos al día es bueno para el corazón.
Me duele la cabeza desde esta mañana.
La enfermera le dio al niño un vaso de agua y una pastilla pequeña.
Lávate las manos antes de cada comida.
Ella va al dentista dos veces al año.
¿Te encuentras mejor hoy que ayer?
La reunión empieza a las diez, así que, por favor, no llegues tarde.
Nuestra oficina está en la cuarta planta del edificio.
Mi jefe me pidió que terminara el informe para el viernes.
La impresora se ha vuelto a estropear y nadie sabe cómo arreglarla.
Trabaja desde casa los martes y los jueves.
Tenemos que contratar a dos personas nuevas para el equipo de ventas.
Envíame el documento por correo electrónico cuando lo termines.
La empresa se trasladó a una oficina más grande el año pasado.
Lleva casi veinte años trabajando en el banco.
Por favor, apaga las luces cuando salgas de la sala.
La comida se servirá en la sala de reuniones grande.
Olvidé mi contraseña y no puedo entrar en mi ordenador.
Los niños aprenden a leer y a escribir en su primer año.
Nuestro profesor nos puso muchos deberes para el fin de semana.
La biblioteca de la escuela tiene miles de libros para lectores jóvenes.
Mi hijo quiere estudiar Medicina en la universidad.
Los alumnos están preparando una obra de teatro para final de curso.
Cerrad los libros y escuchad la pregunta.
Aprobó los exámenes y está muy contenta.
¿Por qué no has traído hoy el cuaderno?
El timbre suena a las tres, y los niños salen corriendo.
Aprender un idioma nuevo requiere tiempo y paciencia.
Nuestro equipo ganó el partido por dos goles.
Corre cinco kilómetros todas las mañanas antes de ir a trabajar.
La piscina está muy llena los domingos por la tarde.
Juega al tenis desde que era pequeña.
Miles de aficionados esperaron a los jugadores a las puertas del estadio.
Los ciclistas subieron la montaña bajo la lluvia.
¿Quién ganó la carrera ayer?
El entrenador les dijo a los jugadores que bebieran agua durante el descanso.
El baloncesto es el deporte más popular en nuestro colegio.
Perdieron la final, pero jugaron muy bien.
Mis padres llevan cuarenta años casados.
Nuestra hija nació en un pequeño hospital junto al mar.
Los domingos toda la familia come junta.
Mi tío vive en una granja con sus vacas y sus caballos.
El bebé duerme mucho mejor cuando la casa está en silencio.
Mis primos vienen a visitarnos el mes que viene.
El abuelo cuenta las mismas historias graciosas todos los veranos.
Llama a tu madre, está preocupada por ti.
Los gemelos parecen iguales, pero son muy diferentes.
Celebramos el cumpleaños de mi padre con una gran cena.
El río está muy limpio y se pueden ver los peces.
Los pájaros hacen sus nidos en los árboles altos que hay detrás de nuestra casa.
En otoño las hojas se vuelven rojas, amarillas y marrones.
Las montañas están cubiertas de nieve hasta finales de la primavera.
Las abejas son importantes porque ayudan a las plantas a dar fruto.
Caminamos por el bosque y vimos un ciervo joven.
El lago se congela todos los inviernos y los niños patinan sobre él.
No den de comer a los animales del parque.
La playa estaba vacía y el agua estaba en calma.
Muchas flores se abren por la mañana y se cierran por la noche.
El lunes, el pueblo de Port Elmsby inauguró un nuevo puente sobre el río.
La alcaldesa de Port Elmsby, Helena Varga, dijo que se reparará el antiguo mercado.
Port Elmsby tiene unos 8400 habitantes, según el último recuento.
La nueva línea de autobús conectará el puerto con la estación de tren.
Este año los pescadores locales capturaron menos peces que el año pasado.
El ayuntamiento aprobó un plan para construir una nueva escuela.
Un pequeño incendio dañó el tejado de la panadería de Elm Street.
Este verano, el pueblo recibió un número récord de turistas.
El festival anual de verano empezará el 14 de julio a las 6 de la tarde.
La policía pidió a los conductores que evitaran la carretera de la costa durante las obras.
El museo del puerto volvió a abrir tras dos años de obras.
Los voluntarios limpiaron la playa y recogieron cuarenta bolsas de basura.
El Dr. Samuel Okafor dará una charla sobre alimentación saludable el 3 de marzo.
Las entradas del concierto cuestan 25 euros para adultos y 10 euros para niños.
El tren a Lindholm sale del andén 4 a las 08:15.
Maria y Tomas se mudaron a Brightwater en 2019.
La tienda estará cerrada del 24 de diciembre al 2 de enero.
El cartel de la puerta decía «Vuelvo en diez minutos», pero nadie volvió.
Necesitarás tres cosas: harina, azúcar y dos huevos.
Alrededor del 40% de los alumnos van andando a la escuela todos los días.
El antiguo faro (construido en 1887) es ahora un pequeño museo.
Mi médico me dijo: «Descansa una semana y vuelve si todavía te duele».
Escribe echo $HOME > notes.txt; luego revisa el archivo con cat | less.
Nuestra página del menú muestra <i>Fish & Chips</i> por $9; el "especial" cuesta más.
Buenos días, quería una mesa para dos, por favor.
Sí, claro, síganme hasta la ventana.
Gracias por tu ayuda, te lo agradezco de verdad.
No hay problema, nos vemos mañana en la oficina.
Lo siento, creo que se ha equivocado de número.
¿Puedo pagar con tarjeta o solo en efectivo?
¡Bienvenido a casa! ¿Qué tal el viaje?
Espera un momento, tengo que encontrar mis llaves.
Gira a la izquierda en el semáforo y luego sigue recto.
Escribe tu nombre en la parte superior de la página.
¿A qué hora cierra la biblioteca los sábados?
¿Alguna vez has visto el mar en invierno?
No te olvides de regar las plantas mientras estoy fuera.
Los vecinos están pintando su casa de un amarillo intenso.
Leo el periódico todas las mañanas con una taza de café.
Nuestro perro duerme debajo de la mesa durante la cena.
El último autobús sale del centro de la ciudad justo antes de medianoche.
Encontró una carta antigua dentro de un libro de la biblioteca.
Los agricultores están preocupados porque lleva semanas sin llover.
Casi no me queda batería en el móvil, así que te llamo más tarde.
La panadería vende pan recién hecho hasta el mediodía todos los días.
Plantamos tomates, judías y zanahorias en el huerto.
Los niños hicieron un gran muñeco de nieve delante de la escuela.
